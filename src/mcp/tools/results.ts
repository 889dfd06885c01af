// The shaping of tool results, in one place: a job tool's reply, an argument error and the
// caller's spent budget all answer the same way, structuredContent with its JSON as the one text block.
import type * as z from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Reply } from '../../jobs/replies.ts';

/**
 * The text block of a result is the JSON of its structuredContent; it is kept under this key (a
 * symbol: never serialized) so the lean path can write the answer without serializing it twice.
 */
export const STRUCTURED_JSON: unique symbol = Symbol('structuredContent as JSON');
export type ToolResult = CallToolResult & { [STRUCTURED_JSON]?: string };

/** The tool result of the job service's reply; its JSON is written once, for this call. */
export function toolResult(reply: Reply<object>): ToolResult {
  if (!reply.ok) {
    const { ok: _ok, ...error } = reply;
    return errorResult(error);
  }
  const text = JSON.stringify(reply.value);
  return { content: [{ type: 'text', text }], structuredContent: reply.value, [STRUCTURED_JSON]: text };
}

/**
 * A tool's arguments, parsed: an argument sent as null is absent (strict-schema frameworks such as
 * OpenAI's make every optional argument required and nullable, and send null for the ones a model
 * leaves out). A required one sent as null is then missing, an INVALID_ARGUMENT like any other.
 */
export function parseArguments<S extends z.ZodType>(schema: S, args: unknown): z.ZodSafeParseResult<z.output<S>> {
  const given =
    typeof args === 'object' && args !== null && !Array.isArray(args)
      ? Object.fromEntries(Object.entries(args).filter(([, value]) => value !== null))
      : (args ?? {});
  return schema.safeParse(given);
}

/** Argument problems, as the INVALID_ARGUMENT tool error (never a JSON-RPC error or a validation dump). */
export function invalidArguments(error: z.ZodError): Reply<never> {
  const details = error.issues
    .map((i) => {
      const at = i.path.join('.') || 'arguments';
      if (i.code === 'unrecognized_keys') return `unknown argument(s) ${i.keys.join(', ')}`;
      return `${at}: ${i.message}`;
    })
    .join('; ');
  return { ok: false, error: { code: 'INVALID_ARGUMENT', message: `Invalid arguments: ${details}.` } };
}

/** The caller's budget is spent: the RATE_LIMITED tool error with the seconds until a call is allowed again. */
export function rateLimited(seconds: number): ToolResult {
  return errorResult({
    error: { code: 'RATE_LIMITED', message: `Too many tool calls from you; retry in ${seconds} s.`, retry_after_seconds: seconds },
  });
}

/**
 * The caller holds as many MCP tasks as it may (waits.max_tasks_per_caller): the RATE_LIMITED tool
 * error, with the seconds until the first of them ends at the latest. Nothing was read or cancelled.
 */
export function tooManyTasks(seconds: number, max: number): ToolResult {
  return errorResult({
    error: {
      code: 'RATE_LIMITED',
      message: `You hold ${max} MCP tasks, as many as this gateway allows; let one end (or tasks/cancel one), or retry in ${seconds} s. Nothing was read or cancelled.`,
      retry_after_seconds: seconds,
    },
  });
}

function errorResult(body: Record<string, unknown>): ToolResult {
  const text = JSON.stringify(body);
  return { isError: true, content: [{ type: 'text', text }], structuredContent: body, [STRUCTURED_JSON]: text };
}
