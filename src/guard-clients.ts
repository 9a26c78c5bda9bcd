/**
 * One build entrypoint for the guard's two clients (`wisdom connect`, `wisdom tunnel`), loaded only when
 * one of them runs. Bun 1.4's compiled binaries stop finding lazily loaded entrypoints once there are
 * more than eight (scripts/build-binaries.ts), so small commands share one.
 * @module
 */
export { runConnect } from "./connect.ts";
export { runTunnel } from "./tunnel.ts";
