// One MCP server object (per session, or per request in stateless mode). Tools are listed from
// definitions built once per process; tools/call is our own handler so that an unknown tool is the
// JSON-RPC protocol error -32602 the spec asks for, and argument errors carry a stable code.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import type { JobService } from '../jobs/job-service.ts';
import { principalKey, type Principal } from '../auth/principal.ts';
import type { CallerRateLimit } from './caller-rate-limit.ts';
import { TOOL_DEFINITIONS, callTool, isToolName } from './tools.ts';

/** A tool served beside the two job tools; used by the conformance profile's fixtures. */
export interface ExtraTool {
  definition: Tool;
  handler(args: Record<string, unknown> | undefined, signal: AbortSignal): Promise<CallToolResult>;
}

/** One answered call of a job tool, for metrics, logs and audit. */
export interface ToolCallEvent {
  tool: 'get_job_status' | 'cancel_job';
  arguments: Record<string, unknown> | undefined;
  result: CallToolResult;
  seconds: number;
  caller: Principal | undefined;
  requestId: string | undefined;
  sessionId: string | undefined;
}

export interface McpServerDeps {
  service: JobService;
  info: { name: string; version: string };
  /** Shared across servers: building a JSON-schema validator per session is a measured hot spot. */
  validator: jsonSchemaValidator;
  extraTools?: readonly ExtraTool[];
  onToolCall?: (event: ToolCallEvent) => void;
  /** The id of the HTTP request being served, for logs and audit. */
  requestId?: () => string | undefined;
  /** Per-caller budget of tool calls. */
  rateLimit?: CallerRateLimit;
}

const INSTRUCTIONS =
  'Job gateway: get_job_status reads the state of a job in a project, cancel_job cancels it (verified, idempotent). ' +
  'Name the project with project_reference and the job with job_id. Statuses: queued, running, succeeded, failed, cancelled, unknown. ' +
  'After cancel_job answers cancel_requested, poll get_job_status until terminal is true.';

export function createMcpServer(deps: McpServerDeps): Server {
  const extra = new Map((deps.extraTools ?? []).map((t) => [t.definition.name, t]));
  const tools = [...TOOL_DEFINITIONS, ...(deps.extraTools ?? []).map((t) => t.definition)];
  const server = new Server(deps.info, { capabilities: { tools: {} }, instructions: INSTRUCTIONS, jsonSchemaValidator: deps.validator });

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request, ctx) => {
    const { name, arguments: args } = request.params;
    if (isToolName(name)) {
      const caller = (ctx.authInfo?.extra as { principal?: Principal } | undefined)?.principal;
      const started = performance.now();
      const wait = deps.rateLimit?.take(caller ? principalKey(caller) : 'anonymous') ?? 0;
      const result = wait > 0 ? rateLimited(wait) : await callTool(deps.service, name, args, { signal: ctx.signal, caller });
      deps.onToolCall?.({
        tool: name,
        arguments: args,
        result,
        seconds: (performance.now() - started) / 1000,
        caller,
        requestId: deps.requestId?.(),
        sessionId: ctx.sessionId,
      });
      return result;
    }
    const fixture = extra.get(name);
    if (fixture) return fixture.handler(args, ctx.signal);
    throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name.slice(0, 128)}`);
  });
  return server;
}

function rateLimited(seconds: number): CallToolResult {
  const body = {
    error: { code: 'RATE_LIMITED', message: `Too many tool calls from you; retry in ${seconds} s.`, retry_after_seconds: seconds },
  };
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body };
}
