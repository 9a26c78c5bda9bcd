// Fetch three quotes with one solver, on Bun or Deno:
//   bun examples/client.ts 127.0.0.1:7077
//   deno run --allow-net --allow-read examples/client.ts 127.0.0.1:7077
import { createSolver, fetchQuote } from "../src/mod.ts";

const address = process.argv[2] ?? "127.0.0.1:7077";
const solver = await createSolver();
try {
  for (let i = 0; i < 3; i++) {
    const q = await fetchQuote(address, { solver, timeoutMs: 10_000 });
    console.log(JSON.stringify({ quote: q.quote, author: q.author, difficulty: q.difficulty, solve_ms: q.solve_ms }));
  }
} finally {
  await solver.close();
}
