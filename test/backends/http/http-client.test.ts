import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHttpClient, parseJson, unexpectedStatus, type HttpClient } from '../../../src/backends/http/http-client.ts';
import { isBackendError, type BackendError } from '../../../src/jobs/backend-error.ts';
import { startSimServer, type SimResponse, type SimServer } from '../../../src/simulation/sim-server.ts';
import { freePort as closedPort } from '../../../scripts/tools/ports.ts';
import { ManualTimers } from '../../helpers/manual-timers.ts';

const KEY = 'sk-live-0123456789';
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function serve(answer: SimResponse): Promise<SimServer> {
  const s = await startSimServer(() => answer);
  open.push(s);
  return s;
}

function client(baseUrl: string): HttpClient {
  const c = createHttpClient({ name: 'jobs-eu', baseUrl, headers: { 'x-api-key': KEY }, timeoutMs: 2_000 });
  open.push(c);
  return c;
}

async function failureOf(fn: () => unknown): Promise<BackendError> {
  try {
    await fn();
  } catch (e) {
    if (isBackendError(e)) return e;
    throw e;
  }
  throw new Error('did not fail');
}

const get = (c: HttpClient) => c.call({ action: 'get_job', method: 'GET', path: ['jobs', 'j1'], signal: new AbortController().signal });

describe('HTTP client: what a backend says never becomes the error message', () => {
  it('maps each status class to a fixed sentence and keeps the redacted body as detail', async () => {
    const echo = `{"message":"bad key ${KEY}","trace":"at svc.internal:8443"}`;
    const cases: [number, string, RegExp][] = [
      [
        401,
        'BACKEND_AUTH',
        /^Backend "jobs-eu" rejected the gateway's credentials \(HTTP 401\): .* Tell the gateway's operator; retrying will not help\.$/,
      ],
      [403, 'BACKEND_AUTH', /\(HTTP 403\)/],
      [429, 'RATE_LIMITED', /^Backend "jobs-eu" is rate limiting the gateway \(HTTP 429\); retry later\.$/],
      [500, 'BACKEND_UNAVAILABLE', /^Backend "jobs-eu" failed \(HTTP 500\)\.$/],
      [418, 'BACKEND_REJECTED', /^Backend "jobs-eu" refused the gateway's request \(HTTP 418\) .* tell the gateway's operator\.$/],
    ];
    for (const [status, code, sentence] of cases) {
      const s = await serve({ status, text: echo });
      const e = unexpectedStatus('jobs-eu', await get(client(s.url)));
      expect(e.code).toBe(code);
      expect(e.httpStatus).toBe(status);
      expect(e.message).toMatch(sentence);
      for (const word of [KEY, 'bad key', 'svc.internal']) expect(e.message).not.toContain(word);
      expect(e.detail).toBe('{"message":"bad key [redacted]","trace":"at svc.internal:8443"}');
    }
  });

  it('bounds a Retry-After it passes on to callers', async () => {
    const s = await serve({ status: 429, text: '', headers: { 'retry-after': '99999999' } });
    const e = unexpectedStatus('jobs-eu', await get(client(s.url)));
    expect(e.retryAfterSeconds).toBe(86_400);
    expect(e.message).toContain('retry after 86400 s');
  });

  it('says "not JSON" without quoting the body', async () => {
    const s = await serve({ status: 200, text: '<html>Error at gw-3.internal, api_key=' + KEY });
    const res = await get(client(s.url));
    const e = await failureOf(() => parseJson('jobs-eu', res));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toBe('Backend "jobs-eu" answered HTTP 200 with a body that is not JSON.');
    expect(e.detail).toBe('<html>Error at gw-3.internal, api_key=[redacted]');
  });

  it('names only the error code of a transport failure, never the address', async () => {
    const port = await closedPort();
    const e = await failureOf(() => get(client(`http://127.0.0.1:${port}`)));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toBe('Backend "jobs-eu" could not be reached (ECONNREFUSED).');
    expect(e.detail).toContain(String(port));
  });
});

describe('HTTP client: bounded answers, deadlines and callers that leave', () => {
  it('refuses an answer larger than its cap without reading the rest', async () => {
    const s = await serve({ status: 200, text: `{"pad":"${'x'.repeat(50_000)}"}` });
    const c = createHttpClient({ name: 'jobs-eu', baseUrl: s.url, maxResponseBytes: 10_000, timeoutMs: 2_000 });
    open.push(c);
    const e = await failureOf(() => get(c));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toBe('Backend "jobs-eu" sent an answer larger than 10000 bytes, which the gateway does not read.');
    // The client still answers the next call (the aborted exchange left its pool usable).
    const small = await serve({ status: 200, text: '{"ok":true}' });
    const c2 = createHttpClient({ name: 'jobs-eu', baseUrl: small.url, maxResponseBytes: 10_000 });
    open.push(c2);
    expect((await get(c2)).text).toBe('{"ok":true}');
  });

  it('gives up on a backend that hangs at its deadline', async () => {
    const s = await serve({ status: 200, text: '{}' });
    s.setFault({ kind: 'hang' });
    const c = createHttpClient({ name: 'jobs-eu', baseUrl: s.url, timeoutMs: 300 });
    open.push(c);
    const started = Date.now();
    const e = await failureOf(() => get(c));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toBe('Backend "jobs-eu" did not answer within 300 ms.');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("stops at once when the caller leaves, with the caller's reason, and is not a backend failure", async () => {
    const s = await serve({ status: 200, text: '{}' });
    s.setFault({ kind: 'hang' });
    const c = client(s.url);
    const caller = new AbortController();
    const call = c.call({ action: 'get_job', method: 'GET', path: ['jobs', 'j1'], signal: caller.signal });
    await expect.poll(() => s.requests.length).toBe(1); // the call is out, waiting on the backend
    caller.abort(new Error('client went away'));
    await expect(call).rejects.toThrow('client went away');
    // A signal already aborted never reaches the backend.
    const before = s.requests.length;
    await expect(
      c.call({ action: 'get_job', method: 'GET', path: ['jobs', 'j1'], signal: AbortSignal.abort(new Error('gone')) }),
    ).rejects.toThrow('gone');
    expect(s.requests.length).toBe(before);
  });
});

describe('HTTP client: one retry of a read', () => {
  /** A backend that answers `first` to the first request and 200 `{"ok":true}` after. */
  async function flaky(first: number): Promise<SimServer> {
    let n = 0;
    const s = await startSimServer(() => (n++ === 0 ? { status: first, text: '{"busy":true}' } : { status: 200, text: '{"ok":true}' }));
    open.push(s);
    return s;
  }

  it('reads again once after a 502, 503 or 504, and the caller sees only the second answer', async () => {
    for (const status of [502, 503, 504]) {
      const s = await flaky(status);
      const res = await get(client(s.url));
      expect(res.status).toBe(200);
      expect(res.text).toBe('{"ok":true}');
      expect(s.requests).toHaveLength(2);
    }
  });

  it('does not read again after a 500, and never repeats a DELETE', async () => {
    const s = await flaky(500);
    expect((await get(client(s.url))).status).toBe(500);
    expect(s.requests).toHaveLength(1);
    const d = await flaky(503);
    const res = await client(d.url).call({
      action: 'cancel_job',
      method: 'DELETE',
      path: ['jobs', 'j1'],
      signal: new AbortController().signal,
    });
    expect(res.status).toBe(503);
    expect(d.requests).toHaveLength(1);
  });

  it('stops in the pause before the retry when the caller leaves', async () => {
    // The pause runs on a manual clock: the call stays in it until the test moves time, however slow the machine.
    const timers = new ManualTimers();
    const s = await flaky(503);
    const c = createHttpClient({ name: 'jobs-eu', baseUrl: s.url, timeoutMs: 2_000, clock: timers });
    open.push(c);
    const caller = new AbortController();
    const call = c.call({ action: 'get_job', method: 'GET', path: ['jobs', 'j1'], signal: caller.signal });
    await expect.poll(() => s.requests.length).toBe(1);
    await expect.poll(() => timers.pending()).toEqual([100]); // the 503 is in: the call pauses before its retry
    caller.abort(new Error('client went away'));
    await expect(call).rejects.toThrow('client went away');
    expect(timers.pending()).toEqual([]); // the pause ended with the abort
    await timers.advance(200);
    expect(s.requests).toHaveLength(1); // the retry was never sent
  });
});

describe('HTTP client: circuit breaker', () => {
  // cockatiel times the open circuit with the global Date and takes no clock: the test holds Date
  // still and moves it across the 10 s, rather than sleeping through them.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('2026-11-01T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens after five consecutive unavailable answers, fails fast for 10 s without calling, then lets a call probe', async () => {
    let status = 500;
    const s = await startSimServer(() => ({ status, text: '{}' }));
    open.push(s);
    const c = client(s.url);
    for (let i = 0; i < 5; i++) expect((await get(c)).status).toBe(500); // a 500 is handed back (and not retried)
    expect(s.requests).toHaveLength(5);
    const fast = await failureOf(() => get(c));
    expect(fast).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryAfterSeconds: 10, detail: 'circuit open after consecutive failures' });
    expect(fast.message).toBe('Backend "jobs-eu" is failing repeatedly, so the gateway has paused calls to it for about 10 s.');
    expect(s.requests).toHaveLength(5); // refused without calling
    status = 200;
    vi.setSystemTime(Date.now() + 9_999);
    expect((await failureOf(() => get(c))).retryAfterSeconds).toBe(10);
    expect(s.requests).toHaveLength(5);
    vi.setSystemTime(Date.now() + 1);
    expect((await get(c)).status).toBe(200); // the probe call goes through, and its success closes the circuit
    expect((await get(c)).status).toBe(200);
    expect(s.requests).toHaveLength(7);
  });
});
