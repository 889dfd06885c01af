// The gateway's logger: pino JSON lines. Anything that could hold a credential is redacted by path,
// as a second line of defence: the code never logs tokens, headers or config secrets on purpose.
import { pino, type DestinationStream, type Logger } from 'pino';

export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  'headers',
  '*.headers',
  'token',
  '*.token',
  'api_key',
  '*.api_key',
  'access_token',
  '*.access_token',
  'err.config',
  'err.cause.headers',
];

/**
 * Without a destination, logs go to stdout: the lines of one event-loop turn in one synchronous
 * write (linesPerTurn). Call `logger.flush()` before exiting.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'mcp-job-gateway' },
      timestamp: isoTimeOncePerMillisecond(),
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? linesPerTurn(pino.destination({ dest: 1, sync: true })),
  );
}

/**
 * pino's isoTime, with the ISO string made once per millisecond: lines logged in the same
 * millisecond (several under load) share it rather than each formatting a Date (see docs/performance.md).
 */
function isoTimeOncePerMillisecond(): () => string {
  let at = -1;
  let field = '';
  return () => {
    const now = Date.now();
    if (now !== at) {
      at = now;
      field = `,"time":"${new Date(now).toISOString()}"`;
    }
    return field;
  };
}

/** What linesPerTurn writes to: pino's sonic-boom destination. */
export interface LineTarget {
  write(data: string): unknown;
  flush(cb?: (err?: Error | null) => void): void;
  flushSync(): void;
}

/**
 * Collects the lines logged in one turn of the event loop and hands them to `target` as one write.
 * Under load a turn serves many calls, each with its log line; one synchronous write per turn costs
 * less than one per line, or than sonic-boom's asynchronous writer (a thread-pool write, and a scan
 * of its whole pending buffer per line): see docs/performance.md. The write blocks: a log reader
 * that stops reading holds the gateway up rather than letting lines pile up in memory.
 */
export function linesPerTurn(
  target: LineTarget,
): DestinationStream & { flush(cb?: (err?: Error | null) => void): void; flushSync(): void } {
  let pending = '';
  const handOver = () => {
    const lines = pending;
    pending = '';
    if (lines !== '') target.write(lines);
  };
  return {
    write(line: string) {
      if (pending === '') setImmediate(handOver);
      pending += line;
    },
    flush(cb) {
      handOver();
      target.flush(cb);
    },
    flushSync() {
      // pino calls this after a fatal line.
      handOver();
      target.flushSync();
    },
  };
}
