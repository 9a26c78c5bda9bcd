/**
 * Simple JSON paths for quote APIs: dotted names with array indexes, `"0.q"`, `"data.quote.text"`, `"items[2].text"`.
 * @module
 */

/** `"data.items[0].text"` or `"data.items.0.text"` -> `["data", "items", "0", "text"]`. */
export function parsePath(path: string): string[] {
  const dotted = path.replace(/\[(\d+)\]/g, ".$1");
  const segs = (path.startsWith("[") ? dotted.slice(1) : dotted).split(".");
  if (path.trim() === "" || segs.some((s) => s === "")) throw new RangeError(`Bad JSON path "${path}": expected dotted names and indexes, like "0.q" or "data.quote.text"`);
  return segs;
}

/** The value at `segs` in `data`, or undefined. Numeric segments index arrays; own properties only. */
export function valueAt(data: unknown, segs: readonly string[]): unknown {
  let cur: unknown = data;
  for (const s of segs) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(s)) return undefined;
      cur = cur[Number(s)];
    } else if (cur !== null && typeof cur === "object" && Object.hasOwn(cur, s)) {
      cur = (cur as Record<string, unknown>)[s];
    } else {
      return undefined;
    }
  }
  return cur;
}
