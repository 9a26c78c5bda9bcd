/**
 * Runtime adapter: Bun's native writer for standard output (`Bun.stdout.writer()`, a FileSink), which
 * costs nothing at start-up, where `process.stdout` builds node's stream machinery and even node:fs
 * takes milliseconds to load (bench/startup.ts). Its writes may complete after the call returns (a pipe
 * that is full), so the process waits for drain() before it exits. Elsewhere: null (cli/stdio.ts).
 * @module
 */

interface _FileSink {
  write(chunk: string): number;
  flush(): number | Promise<number>;
}
declare const Bun: { stdout?: { writer(): _FileSink } } | undefined;

export interface StdoutSink {
  write(text: string): void;
  /** Resolves when everything written so far has reached the descriptor (or the reader went away). */
  drain(): Promise<void>;
}

export function bunStdoutSink(): StdoutSink | null {
  const stdout = typeof Bun === "undefined" ? undefined : Bun.stdout;
  if (!stdout || typeof stdout.writer !== "function") return null;
  let sink: _FileSink | null = null;
  let pending: Promise<void> = Promise.resolve();
  return {
    write(text) {
      sink ??= stdout.writer();
      sink.write(text);
      const flushed = sink.flush();
      // A reader that went away (EPIPE) drops the output, as `| head` expects.
      if (flushed instanceof Promise) pending = pending.then(() => flushed).then(() => undefined, () => undefined);
    },
    drain: () => pending,
  };
}
