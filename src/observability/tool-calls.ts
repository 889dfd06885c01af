// What the gateway records for every answered job-tool call: RED metrics, one structured log line,
// and for cancel_job an audit record; and for a call that failed at a backend, one warning line with
// what the caller was not told.
import type { Logger } from 'pino';
import type { BackendFailure } from '../jobs/replies.ts';
import type { ToolCallEvent } from '../mcp/dispatch.ts';
import type { AuditLog } from './audit.ts';
import type { TraceIds } from './tracing.ts';
import type { GatewayMetrics } from './metrics.ts';

interface ResultBody {
  project_reference?: string;
  backend?: { name: string; kind: string };
  job_id?: string;
  status?: string;
  outcome?: string;
  status_before?: string;
  status_after?: string;
  error?: { code: string };
  unavailable_hosts?: unknown[];
}

export function toolCallRecorder(deps: {
  metrics: GatewayMetrics;
  logger: Logger;
  audit: AuditLog;
  traceIds?: () => TraceIds | undefined;
}) {
  // The record is built here from named fields, so top-level redaction is defence enough; the
  // wildcard paths of the main logger cost more per line than the rest of the call's logging.
  const log = deps.logger.child(
    {},
    { redact: { paths: ['authorization', 'token', 'api_key', 'access_token', 'headers'], censor: '[redacted]' } },
  );
  return (e: ToolCallEvent): void => {
    const body = (e.result.structuredContent ?? {}) as ResultBody;
    // A status for reads, an outcome for cancels, the error code for failures: all bounded words.
    const outcome = resultWord(e.tool, e.result);
    deps.metrics.toolCall(e.tool, body.backend, outcome, e.seconds);
    const project =
      body.project_reference ??
      (typeof e.arguments?.project_reference === 'string' ? e.arguments.project_reference.slice(0, 128) : undefined);
    const trace = deps.traceIds?.();
    log.info(
      {
        event: 'tool_call',
        request_id: e.requestId,
        subject: e.caller?.identity.subject,
        client_id: e.caller?.identity.clientId,
        tool: e.tool,
        project,
        backend: body.backend?.name,
        outcome,
        latency_ms: Math.round(e.seconds * 1000),
        ...trace,
      },
      'tool call',
    );
    if (e.tool === 'cancel_job') {
      const reason = e.arguments?.reason;
      deps.audit.write({
        request_id: e.requestId,
        subject: e.caller?.identity.subject,
        client_id: e.caller?.identity.clientId,
        issuer: e.caller?.identity.issuer,
        project: project ?? '',
        backend: body.backend?.name,
        backend_kind: body.backend?.kind,
        job_id: body.job_id ?? (typeof e.arguments?.job_id === 'string' ? e.arguments.job_id.slice(0, 256) : undefined),
        reason: typeof reason === 'string' ? reason : undefined,
        outcome,
        status_before: body.status_before,
        status_after: body.status_after,
        ...trace,
      });
    }
  };
}

/** What a call answered, as a bounded word: the error code of a failure, else what outcomeOf says. */
export function resultWord(tool: ToolCallEvent['tool'], result: ToolCallEvent['result']): string {
  const body = (result.structuredContent ?? {}) as ResultBody;
  return result.isError ? (body.error?.code ?? 'INTERNAL') : outcomeOf(tool, body);
}

/** What a successful call answered, as a bounded word: a status, a cancel outcome, or a listing (partial when a host was missing). */
function outcomeOf(tool: ToolCallEvent['tool'], body: ResultBody): string {
  if (tool === 'get_job_status') return body.status ?? 'unknown';
  if (tool === 'cancel_job') return body.outcome ?? 'unknown';
  return body.unavailable_hosts?.length ? 'listed_partially' : 'listed';
}

/**
 * One warn line per call that failed at a backend: the request id (which the caller's error also
 * carries), the backend, the error code and HTTP status, and the backend's own words (`detail`),
 * which the HTTP client has already redacted and truncated. Nothing here comes from the caller's token.
 */
export function backendFailureLogger(logger: Logger, traceIds?: () => TraceIds | undefined): (failure: BackendFailure) => void {
  return (f) => {
    logger.warn(
      {
        event: 'backend_error',
        request_id: f.requestId,
        tool: f.tool,
        project: f.ref.project_reference,
        backend: f.ref.backend.name,
        backend_kind: f.ref.backend.kind,
        job_id: f.ref.job_id,
        host: f.host,
        code: f.code,
        http_status: f.httpStatus,
        detail: f.detail,
        ...traceIds?.(),
      },
      'backend call failed',
    );
  };
}
