// The PoW gate in front of another TCP service: a line-based echo server that answers only after a
// proof of work. Protocol: server sends the challenge as one JSON line; client sends {"challenge",
// "counter"} as one JSON line; then every further line is echoed back.
//   bun examples/guarded-echo.ts [PORT]      deno run --allow-net --allow-read examples/guarded-echo.ts [PORT]
// Prints "listening PORT". With --client PORT it connects, solves and prints the echo of "hello".
import * as net from "node:net";
import { challengePrefix, createSolver, encodeCounter, PowGate } from "../src/mod.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

if (process.argv[2] === "--client") {
  const port = Number(process.argv[3]);
  const solver = await createSolver({ threads: 1 });
  const sock = net.connect({ host: "127.0.0.1", port });
  let buf = "";
  let stage = 0;
  sock.on("data", async (d) => {
    buf += d;
    while (buf.includes("\n")) {
      const line = buf.slice(0, buf.indexOf("\n"));
      buf = buf.slice(buf.indexOf("\n") + 1);
      if (stage++ === 0) {
        const challenge = JSON.parse(line);
        const s = await solver.solve(challengePrefix(challenge), challenge.bits);
        sock.write(`${JSON.stringify({ challenge, counter: hex(encodeCounter(s.counter)) })}\nhello\n`);
      } else {
        console.log(line);
        sock.end();
        await solver.close();
      }
    }
  });
} else {
  const gate = new PowGate({ secret: "guarded-echo-example-secret", difficulty: 12 });
  const server = net.createServer((sock) => {
    const addr = (sock.remoteAddress ?? "").replace(/^::ffff:/, "");
    let buf = "";
    let allowed = false;
    sock.write(`${JSON.stringify(gate.issue(addr))}\n`);
    sock.on("data", async (d) => {
      buf += d;
      while (buf.includes("\n")) {
        const line = buf.slice(0, buf.indexOf("\n"));
        buf = buf.slice(buf.indexOf("\n") + 1);
        if (allowed) {
          sock.write(`echo: ${line}\n`);
          continue;
        }
        const v = await gate.verify(JSON.parse(line), addr);
        if (!v.ok) return void sock.end(`refused: ${v.code}\n`);
        allowed = true;
      }
    });
  });
  server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => console.log(`listening ${(server.address() as net.AddressInfo).port}`));
}
