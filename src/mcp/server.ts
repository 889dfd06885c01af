// The MCP server the SDK builds for each request it serves (both eras: the SDK's createMcpHandler
// calls the factory per HTTP request). The low-level Server, not McpServer, so that tools/call is
// ours: an unknown tool is the JSON-RPC error -32602 the spec asks for, and argument errors are
// INVALID_ARGUMENT tool errors with a stable code. It runs the handlers the table of methods
// (methods.ts) names and no others. Everything costly (the handlers, tool definitions, the JSON
// Schema validator, the dispatcher) is built once per gateway and shared by every instance.
import { Server, type CacheHint, type jsonSchemaValidator } from '@modelcontextprotocol/server';
import type { ToolDispatcher } from './dispatch.ts';
import { methodHandlers } from './methods.ts';
import type { TaskService } from './tasks/task-service.ts';
import { TASKS_EXTENSION } from './tasks/wire.ts';

export interface ServerFactoryDeps {
  dispatcher: ToolDispatcher;
  tasks: TaskService;
  info: { name: string; version: string };
  validator: jsonSchemaValidator;
  /** The id of the HTTP request being served, for logs and audit. */
  requestId: () => string | undefined;
}

export const INSTRUCTIONS =
  "Job gateway: list_projects names the projects you may use; get_job_status reads a job, cancel_job cancels it (verified, idempotent), list_jobs lists a project's jobs newest first. " +
  'Name the project with project_reference and the job with job_id. Statuses: queued, running, succeeded, failed, cancelled, unknown. ' +
  'To follow a job, pass wait_seconds and known_status to get_job_status rather than polling in a loop; cancel_job takes wait_seconds to confirm that the job stopped.';

/**
 * Caching hints of the 2026-07-28 results (2025-era answers carry none). The tool list is the same
 * for every caller, so shared caches may keep it; it changes only with a new release, so a client
 * may reuse it for a few minutes (a rollout is seen within that time).
 */
export const CACHE_HINTS: Record<'tools/list' | 'server/discover', CacheHint> = {
  'tools/list': { ttlMs: 300_000, cacheScope: 'public' },
  'server/discover': { ttlMs: 300_000, cacheScope: 'public' },
};

export function createServerFactory(deps: ServerFactoryDeps): () => Server {
  const handlers = methodHandlers(deps);
  return () => {
    const server = new Server(deps.info, {
      // The Tasks extension is advertised in both eras' answers (the SDK puts it in initialize too);
      // only a 2026-07-28 request can declare it, so only those get tasks.
      capabilities: { tools: {}, extensions: { [TASKS_EXTENSION]: {} } },
      instructions: INSTRUCTIONS,
      jsonSchemaValidator: deps.validator,
      cacheHints: CACHE_HINTS,
    });
    // The SDK types each handler by its method; the table made each for its own.
    for (const made of handlers) {
      if (made.extension) {
        const extension = made.extension;
        server.setRequestHandler(made.method, { params: extension.params }, (p, ctx) => extension.handle(p, ctx) as never);
      } else server.setRequestHandler(made.method, made.handler as never);
    }
    return server;
  };
}
