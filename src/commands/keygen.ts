/**
 * `wisdom keygen`: print a fresh random HMAC secret. Bundled into main; the generator loads on use.
 * @module
 */
import { EXIT, type Io, UsageError } from "../shared/cli/io.ts";

export async function runKeygen(rest: string[], io: Io): Promise<number> {
  if (rest.includes("-h") || rest.includes("--help")) {
    io.stdout("Usage: wisdom keygen\n\nPrint a fresh random HMAC secret (32 bytes, base64url) for WISDOM_SECRET or a secret file.\n");
    return EXIT.OK;
  }
  if (rest.length > 0) throw new UsageError(`keygen takes no arguments, got ${rest.join(" ")}`);
  const { generateSecret } = await import("../shared/config/keygen.ts");
  io.stdout(`${generateSecret((n) => crypto.getRandomValues(new Uint8Array(n)))}\n`);
  return EXIT.OK;
}
