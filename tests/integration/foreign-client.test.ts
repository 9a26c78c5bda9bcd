/** A client written from docs/PROTOCOL.md alone, in Python, interoperates with the server. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { testServer } from "../helpers/server.ts";

const script = fileURLToPath(new URL("../foreign/client.py", import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("python3", [script, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("a Python client written from docs/PROTOCOL.md", () => {
  for (const mode of ["same", "reconnect"]) {
    test(`gets a quote (${mode} connection)`, async () => {
      await using srv = await testServer({ difficulty: 10 });
      const r = await run(["127.0.0.1", String(srv.port), mode]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.type, 3, r.stdout);
      assert.ok(out.body.quote.length > 0);
      assert.equal(srv.stats.proofsOk, 1);
    });
  }
  // The rules about bytes after a Solution and field ranges, as the document states them.
  for (const [mode, type, code] of [["trailing", 3, ""], ["twice", 3, ""], ["halfclose", 3, ""], ["bits268", 4, "BAD_FRAME"], ["bits33", 4, "UNSUPPORTED_PUZZLE"]] as const) {
    test(`${mode}: ${code || "a quote"}, then the server closes`, async () => {
      await using srv = await testServer({ difficulty: 8 });
      const r = await run(["127.0.0.1", String(srv.port), mode]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.type, type, r.stdout);
      if (code) assert.equal(out.body.code, code, r.stdout);
      assert.equal(out.closed_after, true, "one answer per connection, then a close");
      assert.equal(srv.stats.proofsOk, type === 3 ? 1 : 0);
    });
  }
});
