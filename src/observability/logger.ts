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
 * Without a destination, logs go to stdout through an asynchronous writer: a synchronous write per
 * line was the largest single cost of a call under load. Call `logger.flush()` before exiting.
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
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * pino's isoTime, with the ISO string made once per millisecond: lines logged in the same
 * millisecond (several under load) share it. Formatting a Date per line showed in the profile.
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
