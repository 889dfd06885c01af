// What the gateway records for MCP tasks: a count by tool and event, and one log line per event
// (created, completed with what the call answered, cancelled). Polls are MCP operations
// (tasks/get, tasks/cancel) and are measured and traced as every method is.
import type { Logger } from 'pino';
import type { TaskEvent } from '../mcp/tasks/task-service.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { TraceIds } from './tracing.ts';
import { resultWord } from './tool-calls.ts';

export function taskRecorder(deps: { metrics: GatewayMetrics; logger: Logger; traceIds?: () => TraceIds | undefined }) {
  return (e: TaskEvent): void => {
    deps.metrics.task(e.tool, e.event);
    deps.logger.info(
      {
        event: 'task',
        task_event: e.event,
        request_id: e.requestId,
        subject: e.caller?.identity.subject,
        client_id: e.caller?.identity.clientId,
        tool: e.tool,
        ...(e.result ? { outcome: resultWord(e.tool, e.result) } : {}),
        ...deps.traceIds?.(),
      },
      `task ${e.event}`,
    );
  };
}
