// The MCP Tasks extension on the wire (`io.modelcontextprotocol/tasks`, SEP-2663), for 2026-07-28
// only: how a request declares it, the params of tasks/get, tasks/update and tasks/cancel, the
// task fields every answer carries, and the two errors (-32021 undeclared, -32602 not found). A
// 2025-era request carries no per-request envelope, so it never declares the extension.
import * as z from 'zod';
import {
  CLIENT_CAPABILITIES_META_KEY,
  MissingRequiredClientCapabilityError,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  type CallToolResult,
} from '@modelcontextprotocol/server';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
/** The protocol revision the extension is defined for. */
const TASKS_REVISION = '2026-07-28';

/** A task's status; the gateway's tasks never ask for input, so never `input_required`. */
export type TaskStatus = 'working' | 'completed' | 'cancelled' | 'failed';

/** What every task answer carries (times as ISO 8601; ttlMs from createdAt). */
export interface TaskFields {
  taskId: string;
  status: TaskStatus;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number;
  pollIntervalMs: number;
}

/** A tools/call answered with a task: the flat handle (no nested `task`). */
export type CreateTaskResult = { resultType: 'task' } & TaskFields;

/** tasks/get: the task, with the call's result once completed. */
export type GetTaskResult = { resultType: 'complete' } & TaskFields & { result?: CallToolResult };

/** The longest task id the gateway reads (its own are 43 characters). */
const TASK_ID_MAX = 256;

export const taskParams = z.looseObject({ taskId: z.string().min(1).max(TASK_ID_MAX) });

/**
 * Whether a request declares the extension: in its per-request envelope as the SDK lifts it
 * (ctx.mcpReq.envelope), or in the raw `_meta` that holds the same keys. Only a 2026-07-28 envelope
 * can: a 2025-era request that carries the keys anyway is answered as every 2025-era request is.
 */
export function declaresTasks(envelope: Readonly<Record<string, unknown>> | undefined): boolean {
  if (!ofTasksRevision(envelope)) return false;
  const capabilities = envelope![CLIENT_CAPABILITIES_META_KEY];
  const extensions = isRecord(capabilities) ? capabilities.extensions : undefined;
  return isRecord(extensions) && isRecord(extensions[TASKS_EXTENSION]);
}

/** Whether a request is of the revision the extension is defined for (a 2025-era request has no envelope, or one without the version). */
export function ofTasksRevision(envelope: Readonly<Record<string, unknown>> | undefined): boolean {
  return envelope?.[PROTOCOL_VERSION_META_KEY] === TASKS_REVISION;
}

/** -32601: tasks/* in the 2025 era, whose retired tasks (another wire) the gateway does not serve. */
export function tasksNotInThisEra(): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.MethodNotFound, 'Method not found');
}

/** -32021: tasks/* from a 2026-07-28 request that did not declare the extension. */
export function tasksNotDeclared(): MissingRequiredClientCapabilityError {
  return new MissingRequiredClientCapabilityError({ requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } });
}

/** -32602: a task that is unknown, expired, another caller's, or on a project its caller may no longer use: all alike. */
export function taskNotFound(): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, 'Task not found');
}

/** -32602: tasks/update for a task that asks for no input (the gateway's never do). */
export function notAwaitingInput(): ProtocolError {
  return new ProtocolError(
    ProtocolErrorCode.InvalidParams,
    'The task is not waiting for input: tasks/update applies to input_required tasks only',
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
