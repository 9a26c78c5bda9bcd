/**
 * The process's standard output and error for the CLI, without node's stream objects until they are needed.
 *
 * Reading `process.stdout` or `process.stderr` (even `.isTTY`) makes Bun build its node:stream machinery,
 * which costs more at start-up than everything else `wisdom version` does (bench/startup.ts measures the
 * whole process). So text goes out with `fs.writeSync` on the descriptor (node:fs loaded at the first
 * write): synchronous and in order, as node's own writes to files, pipes and terminals are on Linux, and
 * nothing is lost to process.exit(). A descriptor that is non-blocking and full (EAGAIN) hands the rest,
 * and every later write, to the stream, which waits for room; a reader that went away (EPIPE) drops the
 * output, as `| head` expects. On Bun, standard output goes through its native writer instead
 * (runtime/stdout-sink.ts), which needs no module at all; main.ts waits for it before exiting.
 * @module
 */

const encoder = new TextEncoder();

/** A writer for descriptor 1 or 2. */
export function fdWriter(fd: 1 | 2): (text: string) => void {
  let stream: NodeJS.WriteStream | null = null;
  let closed = false;
  return (text) => {
    if (closed) return;
    if (stream) return void stream.write(text);
    const bytes = encoder.encode(text);
    let off = 0;
    while (off < bytes.length) {
      try {
        off += process.getBuiltinModule("node:fs").writeSync(fd, bytes, off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EPIPE") {
          closed = true;
          return;
        }
        if (code !== "EAGAIN") throw err;
        stream = fd === 1 ? process.stdout : process.stderr;
        stream.write(bytes.subarray(off));
        return;
      }
    }
  };
}

/** Whether a descriptor is a terminal, asked only when a command needs to know (node:tty loads then, not at start). */
export function lazyIsTerminal(fd: 1 | 2): () => boolean {
  let known: boolean | undefined;
  return () => (known ??= process.getBuiltinModule("node:tty").isatty(fd));
}
