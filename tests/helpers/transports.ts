/** The transports available on the runtime running the tests: its native one and node:net. */
import { pickTransport, runtimeName } from "../../src/shared/transport/index.ts";
import type { Transport } from "../../src/shared/transport/types.ts";

export async function availableTransports(): Promise<Transport[]> {
  const native = await pickTransport();
  const list = [native];
  if (runtimeName() !== "node") list.push(await pickTransport("node"));
  return list;
}
