/**
 * One build entrypoint for the guard's two clients (`wisdom connect`, `wisdom tunnel`), loaded only when
 * one of them runs. Every entrypoint costs the compiled binary some start-up time
 * (scripts/build-binaries.ts), so small commands share one.
 * @module
 */
export { runConnect } from "./connect.ts";
export { runTunnel } from "./tunnel.ts";
