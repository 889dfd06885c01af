// Reading a ComfyUI host's answers. An answer the adapter cannot use becomes a fixed sentence for
// the caller; what the host said goes, redacted, to the error's `detail` (the log) only.
import { BackendError } from '../../jobs/backend-error.ts';
import type { HttpResponse } from '../http/http-client.ts';
import type { Host } from './host.ts';

/** A 2xx answer in a shape the adapter does not know; `what` is the adapter's own words. */
export function badShape(host: Pick<Host, 'client'>, res: HttpResponse, what: string): BackendError {
  return new BackendError('BACKEND_UNAVAILABLE', `Backend "${host.client.name}" answered in an unexpected shape: ${what}.`, {
    httpStatus: res.status,
    detail: res.redactedExcerpt(),
  });
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A JSON object body: aiohttp's own 404 and 405 answers are plain text, ComfyUI's are JSON. */
export function isJsonObject(res: HttpResponse): boolean {
  return isRecord(safeJson(res.text));
}

export function jsonErrorIs(res: HttpResponse, message: string): boolean {
  const body = safeJson(res.text);
  return isRecord(body) && body.error === message;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
