/**
 * Small valibot building blocks shared by the configuration schemas.
 * @module
 */
import * as v from "valibot";

/** An integer in min..max. */
export const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

/** A number in min..max. */
export const num = (min: number, max: number) => v.pipe(v.number(), v.minValue(min), v.maxValue(max));

/** A string that `parse` accepts; a problem carries the parser's own message (it says what is wrong). */
export const parsedWith = (parse: (s: string) => unknown) =>
  v.pipe(
    v.string(),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      try {
        parse(dataset.value);
      } catch (err) {
        addIssue({ message: (err as Error).message });
      }
    }),
  );

/** A string that `parse` accepts (it throws on bad input); `message` is what the user is told. */
export const parsedBy = (parse: (s: string) => unknown, message: string) =>
  v.pipe(
    v.string(),
    v.check((s) => {
      try {
        parse(s);
        return true;
      } catch {
        return false;
      }
    }, message),
  );
