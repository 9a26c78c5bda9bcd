/**
 * Run by tests/integration/transport-deno-end.test.ts with Deno (whatever runtime runs the tests): the
 * Deno adapter (transport/deno.ts) over real loopback sockets, with Deno.listen wrapped so that every
 * accepted connection counts its reads and notes whether one was still pending when the adapter closed
 * it. Prints one JSON line: { connections, closes, pendingAtClose, dataCalls, received }.
 *
 * The handler answers each connection's first chunk with `answerBytes` and end(): the gate's last step.
 * A read still pending at that close is rejected, and Deno builds an Error (with its stack) for it.
 * MODE "paused": the handler pauses the connection on its first chunk and answers a little later, calling
 * end() and then resume() (the read loop is parked on the pause meanwhile, as the guard's relay can leave it).
 *
 *   deno run -A tests/helpers/deno-end-probe.ts CONNECTIONS ANSWER_BYTES [data|paused]
 */
import { denoTransport } from "../../src/shared/transport/deno.ts";

declare const Deno: any;

const connections = Number(Deno.args[0] ?? 20), answerBytes = Number(Deno.args[1] ?? 16), mode = String(Deno.args[2] ?? "data");
const stats = { connections, closes: 0, pendingAtClose: 0, dataCalls: 0, received: [] as number[] };

const realListen = Deno.listen.bind(Deno);
Deno.listen = (opts: unknown) => {
  const l = realListen(opts);
  return {
    get addr() {
      return l.addr;
    },
    close: () => l.close(),
    accept: async () => wrap(await l.accept()),
  };
};

function wrap(c: any): unknown {
  let pending = 0;
  return {
    remoteAddr: c.remoteAddr,
    setNoDelay: (on: boolean) => c.setNoDelay(on),
    read: (b: Uint8Array) => {
      pending++;
      return c.read(b).finally(() => pending--);
    },
    write: (b: Uint8Array) => c.write(b),
    closeWrite: () => c.closeWrite(),
    close: () => {
      stats.closes++;
      if (pending > 0) stats.pendingAtClose++;
      c.close();
    },
  };
}

const answer = new Uint8Array(answerBytes).fill(0x61);
const l = await denoTransport.listen({ host: "127.0.0.1", port: 0 }, {
  open: (conn) => (conn.write(new Uint8Array([0x68, 0x69])), conn),
  data: (conn) => {
    stats.dataCalls++;
    if (mode === "paused") {
      conn.pause();
      setTimeout(() => {
        conn.write(answer);
        conn.end();
        conn.resume();
      }, 5);
      return;
    }
    conn.write(answer);
    conn.end();
  },
  close() {},
});

for (let i = 0; i < connections; i++) {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  const greeting = new Uint8Array(2);
  let got = 0;
  while (got < 2) got += (await c.read(greeting.subarray(got))) ?? 2;
  await c.write(new Uint8Array([0x78])); // the "solution"
  let total = 0;
  const buf = new Uint8Array(65_536);
  for (;;) {
    const n = await c.read(buf);
    if (n === null) break;
    total += n;
  }
  c.close();
  stats.received.push(total);
}
// every server-side close has run once the client saw EOF, but give the event loop a turn
await new Promise((r) => setTimeout(r, 50));
await l.stop();
console.log(JSON.stringify(stats));
