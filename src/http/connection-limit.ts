// A process-wide bound on open client connections. Every connection is a file descriptor; a replica
// that runs out of them fails its own backend reads with EMFILE, for every caller at once. Below the
// bound nothing changes; beyond it Node closes a new connection as it is accepted, before any byte
// of it is read (`maxConnections`), and the operator is told (a counter and a warning). Waits are
// refused earlier, with RATE_LIMITED and a retry time (waits.max_concurrent, half the descriptors),
// so this bound is the last line: it keeps a quarter of the descriptors for backend and Redis sockets.
import type { Server } from 'node:net';

/** Descriptors kept for everything but client connections: listeners, logs, Redis, the backends' first sockets. */
const RESERVED_FDS = 256;

/**
 * The default bound for a soft open-files limit: three quarters of what is left after RESERVED_FDS,
 * at least 64; no bound when the limit is unlimited. 1024 gives 576; 1,048,576 gives 786,240.
 */
export function maxConnectionsFor(openFiles: number | undefined): number {
  const fds = openFiles !== undefined && openFiles > 0 ? openFiles : 1024;
  if (!Number.isFinite(fds)) return Number.POSITIVE_INFINITY;
  return Math.max(64, Math.floor(((fds - RESERVED_FDS) * 3) / 4));
}

export interface ConnectionLimitReport {
  /** One connection closed at the bound. */
  refused(): void;
  /** A warning, at most one per `warnEveryMs`, with the connections closed since the last one. */
  warn(closedSince: number, max: number): void;
}

/** Bounds the server's open connections at `max` (none when not finite). */
export function limitConnections(server: Server, max: number, report: ConnectionLimitReport, warnEveryMs = 60_000): void {
  if (!Number.isFinite(max)) return;
  server.maxConnections = max;
  // One warning at the first closed connection, then one per interval while more are closed.
  let closed = 0;
  let quiet: NodeJS.Timeout | undefined;
  const flush = () => {
    quiet = undefined;
    if (closed === 0) return;
    report.warn(closed, max);
    closed = 0;
    quiet = setTimeout(flush, warnEveryMs).unref();
  };
  server.on('drop', () => {
    report.refused();
    closed++;
    if (quiet === undefined) flush();
  });
}
