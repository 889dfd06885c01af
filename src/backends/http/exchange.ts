// One HTTP exchange with a backend through undici's dispatcher API: the answer's bytes are collected
// by a handler, up to a size cap. undici's request() wraps the same exchange in an async resource, a
// Readable stream for the body and a listener on the caller's abort signal, which the gateway needs
// none of (docs/performance.md, the HTTP client's exchange).
import type { Dispatcher } from 'undici';

export interface ExchangeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, already encoded. */
  path: string;
  headers: Record<string, string>;
  body: string | null;
}

export interface ExchangeAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body, or 'too_large' when more than the cap arrived (the exchange is then aborted). */
  bytes: Buffer | 'too_large';
}

export interface ExchangeLimits {
  /** The caller's signal: the exchange stops with its reason. */
  signal: AbortSignal;
  /** The exchange stops with a TimeoutError after this long (0 or less: at once). */
  timeoutMs: number;
  /** The largest answer body read, in bytes. */
  maxBytes: number;
}

/**
 * Sends the request and resolves with the whole answer; rejects with undici's error (connection
 * refused, reset, …), with the signal's reason once it aborts, or with a TimeoutError at the deadline.
 * The deadline is a timer here rather than a second AbortController per call (docs/performance.md).
 */
export function exchange(dispatcher: Dispatcher, request: ExchangeRequest, limits: ExchangeLimits): Promise<ExchangeAnswer> {
  const { signal, timeoutMs, maxBytes } = limits;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    if (timeoutMs <= 0) {
      reject(deadline(timeoutMs));
      return;
    }
    let controller: Dispatcher.DispatchController | null = null;
    let status = 0;
    let headers: ExchangeAnswer['headers'] = {};
    let chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (ending: { answer: ExchangeAnswer } | { error: unknown }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if ('answer' in ending) resolve(ending.answer);
      else reject(ending.error);
    };
    const onAbort = () => {
      finish({ error: signal.reason });
      controller?.abort(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      const error = deadline(timeoutMs);
      finish({ error });
      controller?.abort(error);
    }, timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });

    dispatcher.dispatch(
      { method: request.method, path: request.path, headers: request.headers, body: request.body },
      {
        onRequestStart(c) {
          controller = c;
          if (settled) c.abort(signal.reason as Error);
        },
        onResponseStart(_c, statusCode, responseHeaders) {
          if (statusCode < 200) return; // 1xx: the final answer follows
          status = statusCode;
          headers = responseHeaders;
        },
        onResponseData(c, chunk) {
          if (settled) return;
          size += chunk.length;
          if (size > maxBytes) {
            chunks = [];
            finish({ answer: { status, headers, bytes: 'too_large' } }); // before abort(), which reports an error
            c.abort(new Error('answer too large'));
            return;
          }
          chunks.push(chunk);
        },
        onResponseEnd() {
          finish({ answer: { status, headers, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) } });
        },
        onResponseError(_c, error) {
          finish({ error });
        },
      },
    );
  });
}

function deadline(timeoutMs: number): DOMException {
  return new DOMException(`deadline of ${Math.max(0, Math.round(timeoutMs))} ms`, 'TimeoutError');
}
