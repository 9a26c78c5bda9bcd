/**
 * Reads a fetch Response body with a size cap, so a misbehaving API cannot make the server buffer megabytes.
 * @module
 */

/** Reads at most `max` bytes of the body as UTF-8; more is a RangeError. */
export async function _readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new RangeError(`body of ${declared} bytes exceeds the limit of ${max}`);
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > max) {
      await reader.cancel().catch(() => {});
      throw new RangeError(`body exceeds the limit of ${max} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
