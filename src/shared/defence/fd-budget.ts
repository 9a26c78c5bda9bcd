/**
 * Connection caps that fit the open-file limit (issue 14). Every open connection holds one descriptor;
 * a cap above what the limit leaves never fires, and once the descriptors run out the runtime stops
 * accepting: honest clients wait in the kernel's accept queue behind the slow ones, and nothing refuses
 * anyone. So the composition root lowers the caps to the limit, minus the descriptors already open at
 * start and a reserve (`fd_reserve`) for everything else: the store, quote sources, the metrics
 * listener, logs. Pure: the caller reads the limit (runtime/fd-limits.ts) and hands it in.
 * @module
 */

/** The caps, named as the configuration keys are (a ServeConfig fits). */
export interface ConnectionCaps {
  readonly max_connections: number;
  readonly max_connections_per_net: number;
  readonly max_connections_per_addr: number;
}

export interface Descriptors {
  /** The soft open-file limit; null when unknown, Infinity when unlimited. */
  readonly limit: number | null;
  /** Descriptors open when the caps are computed. */
  readonly inUse: number;
  /** Descriptors kept for the process besides connections (`fd_reserve`). */
  readonly reserve: number;
}

export interface CapsFit {
  readonly caps: ConnectionCaps;
  /** Whether any cap was lowered. */
  readonly clamped: boolean;
  /** Connections the limit leaves room for; null when the limit is unknown or unlimited. */
  readonly room: number | null;
  /** The reserve actually kept (halved at most when the limit is too small for it). */
  readonly reserve: number;
  /** The smallest limit that would fit the configured max_connections with the full reserve. */
  readonly neededLimit: number;
  /** One line for the log: what was found and what changed. */
  readonly message: string;
}

/**
 * Lower the caps to fit `fds`. The total cap becomes at most limit - inUse - reserve (never below 1);
 * a limit too small for the reserve keeps half of what is free for connections. The per-network and
 * per-address caps are kept at or below the total, so the configuration in force stays consistent.
 */
export function fitCaps(caps: ConnectionCaps, fds: Descriptors): CapsFit {
  const wanted = caps.max_connections;
  const neededLimit = wanted + fds.inUse + fds.reserve;
  if (fds.limit === null || !Number.isFinite(fds.limit)) {
    const why = fds.limit === null ? "open-file limit unknown" : "open-file limit unlimited";
    return { caps: _pick(caps), clamped: false, room: null, reserve: fds.reserve, neededLimit, message: `${why}: connection caps as configured (max_connections ${wanted})` };
  }
  const free = Math.max(0, fds.limit - fds.inUse);
  const reserve = Math.min(fds.reserve, Math.floor(free / 2));
  const room = Math.max(1, free - reserve);
  const total = Math.min(wanted, room);
  const perNet = Math.min(caps.max_connections_per_net, total);
  const perAddr = Math.min(caps.max_connections_per_addr, perNet);
  const out = { max_connections: total, max_connections_per_net: perNet, max_connections_per_addr: perAddr };
  const clamped = total !== wanted || perNet !== caps.max_connections_per_net || perAddr !== caps.max_connections_per_addr;
  const found = `open-file limit ${fds.limit} with ${fds.inUse} in use and ${reserve} reserved leaves room for ${room} connections`;
  let message: string;
  if (!clamped) message = `${found}: max_connections ${wanted} fits`;
  else {
    const changes = (Object.keys(out) as (keyof ConnectionCaps)[]).filter((k) => out[k] !== caps[k]).map((k) => `${k} ${caps[k]} -> ${out[k]}`);
    message = `${found}: ${changes.join(", ")}; raise the limit to at least ${neededLimit} (LimitNOFILE=, ulimit -n, --ulimit nofile=) to keep max_connections ${wanted}`;
  }
  if (reserve < fds.reserve) message += `; fd_reserve ${fds.reserve} does not fit, kept ${reserve}`;
  return { caps: out, clamped, room, reserve, neededLimit, message };
}

function _pick(c: ConnectionCaps): ConnectionCaps {
  return { max_connections: c.max_connections, max_connections_per_net: c.max_connections_per_net, max_connections_per_addr: c.max_connections_per_addr };
}
