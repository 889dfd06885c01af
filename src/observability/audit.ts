// The audit trail: one record for every cancel_job, whatever came of it, written to the log as its
// own event type (event: "audit", so it can be routed to a SIEM) and, when configured, appended to a
// file as JSON lines.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from 'pino';

export interface AuditRecord {
  event: 'audit';
  action: 'cancel_job';
  time: string;
  request_id: string | undefined;
  subject: string | undefined;
  client_id: string | undefined;
  issuer: string | undefined;
  project: string;
  backend: string | undefined;
  backend_kind: string | undefined;
  job_id: string | undefined;
  reason: string | undefined;
  /** The cancel outcome, or the error code when the cancel could not be done. */
  outcome: string;
  status_before: string | undefined;
  status_after: string | undefined;
  /** The trace of the call, with tracing on. */
  trace_id?: string | undefined;
  span_id?: string | undefined;
}

export interface AuditLog {
  write(record: Omit<AuditRecord, 'event' | 'action' | 'time'>): void;
  close(): Promise<void>;
}

export function createAuditLog(logger: Logger, file?: string): AuditLog {
  let stream: WriteStream | undefined;
  if (file) {
    stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
    stream.on('error', (err) => logger.error({ err: { message: err.message } }, 'audit file write failed'));
  }
  return {
    write(fields) {
      // The log line's time is the logger's own (one "time" per line: parsers keep one, SIEMs may reject
      // duplicates); the file's record carries its own.
      logger.info({ event: 'audit', action: 'cancel_job', ...fields }, 'audit cancel_job');
      if (stream) {
        const record: AuditRecord = { event: 'audit', action: 'cancel_job', time: new Date().toISOString(), ...fields };
        stream.write(`${JSON.stringify(record)}\n`);
      }
    },
    async close() {
      if (stream) await new Promise<void>((resolve) => stream.end(() => resolve()));
    },
  };
}
