/**
 * Why a Bun gate thread costs more CPU than it uses (issue 15): a Worker that holds a large
 * SharedArrayBuffer (the shared tables: about 25 bytes per spent_max_entries) runs the same
 * mint + verify loop with far fewer collections, so its allocations keep taking fresh heap blocks,
 * whose pages JavaScriptCore's "JSCWarmUp" thread faults in ahead of it. This races one Worker
 * through the loop for --seconds with a buffer of 0 and of --mb MB, with and without an explicit
 * young collection (Bun.gc(false)) every --every handshakes, and reports per variant the
 * handshakes per second of the Worker's CPU and the CPU of the process's other threads by name
 * (from /proc/self/task), as a share of the Worker's. Bun only.
 *
 *   npx bun bench/bun-shared-gc.ts [--mb 100] [--every 20000] [--seconds 2] [--runs 2]
 *   BUN_JSC_logGC=1 ... shows the collections themselves (stderr)
 */
import { readdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/** CPU seconds and name of every thread of this process, by thread id. */
function threadsCpu(): Map<string, { name: string; s: number }> {
  const m = new Map<string, { name: string; s: number }>();
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const comm = readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim();
      const st = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      m.set(t, { name: comm, s: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      // the thread ended while read
    }
  }
  return m;
}

async function variant(mb: number, every: number, ms: number): Promise<Record<string, number>> {
  const buffer = new SharedArrayBuffer(Math.max(4, mb * 1048576));
  const w = new Worker(new URL("./bun-shared-gc-worker.ts", import.meta.url), { type: "module" });
  const before = threadsCpu();
  const n = await new Promise<number>((resolve, reject) => {
    w.onmessage = (e: MessageEvent) => resolve(e.data as number);
    w.onerror = (e) => reject(new Error(String((e as ErrorEvent).message ?? e)));
    w.postMessage({ buffer, every, ms });
  });
  const after = threadsCpu();
  w.terminate();
  // By name, over the threads alive at the end (a thread that started since counts from zero).
  const used = new Map<string, number>();
  for (const [tid, t] of after) used.set(t.name, (used.get(t.name) ?? 0) + t.s - (before.get(tid)?.s ?? 0));
  const worker = used.get("Worker") ?? NaN;
  const others: Record<string, number> = {};
  for (const [k, v] of used) if (k !== "Worker" && v / worker >= 0.01) others[`${k}_share`] = Number((v / worker).toFixed(2));
  return { mb, every, per_worker_cpu_s: Math.round(n / worker), worker_cpu_s: Number(worker.toFixed(2)), ...others };
}

if (import.meta.main) {
  if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") throw new Error("bench/bun-shared-gc.ts runs on Bun only");
  const { values } = parseArgs({ options: { mb: { type: "string", default: "100" }, every: { type: "string", default: "20000" }, seconds: { type: "string", default: "2" }, runs: { type: "string", default: "2" } } });
  const mb = Number(values.mb), every = Number(values.every), ms = Number(values.seconds) * 1000;
  for (let r = 0; r < Number(values.runs); r++) {
    for (const [m, e] of [[0, 0], [mb, 0], [mb, every]] as const) console.log(JSON.stringify(await variant(m, e, ms)));
  }
}
