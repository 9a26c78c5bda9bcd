/**
 * Settles like `work`, or rejects with `onTimeout()` after `ms` if `work` has not settled by then.
 * A late settlement of `work` is swallowed (no unhandled rejection); the timer never outlives the call.
 * @module
 */
export function _withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
