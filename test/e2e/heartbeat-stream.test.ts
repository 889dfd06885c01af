// A waiting call with a progress token answered by the lean path is, frame for frame, what the
// SDK's own path writes for the same call: the same headers, the same progress notifications and
// the same result, in both eras. The two calls wait side by side on a manual clock; an extra params
// key (which the SDK ignores) sends one of them through the SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answeredReads, fastWaits, startTestGateway, seed, type TestGateway } from '../helpers/gateway.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';
import { until } from '../helpers/until.ts';

type Era = 'modern' | 'legacy';
type Frame = { jsonrpc: string; id?: unknown; method?: string; params?: Record<string, unknown>; result?: unknown };

const MODERN = '2026-07-28';
const envelope = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
};
const SSE_HEADERS = ['content-type', 'cache-control', 'connection', 'x-accel-buffering'];

/** An SSE body's frames: each must be `event: message` with one data line. */
function frames(text: string): Frame[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((frame) => {
      const [event, data, ...rest] = frame.split('\n');
      expect(event).toBe('event: message');
      expect(data!.startsWith('data: ')).toBe(true);
      expect(rest).toEqual([]);
      return JSON.parse(data!.slice(6)) as Frame;
    });
}

describe.each(['modern', 'legacy'] as Era[])('heartbeats on the lean path (%s era)', (era) => {
  let t: TestGateway;
  const timers = new ManualTimers();
  beforeAll(async () => {
    t = await startTestGateway({ configure: (c) => ({ ...c, waits: fastWaits(2) }), deps: { clock: timers } });
  });
  afterAll(async () => t?.close());

  function waitingCall(jobId: string, progressToken: string | number, viaSdk: boolean): Promise<Response> {
    const meta = era === 'modern' ? { ...envelope, progressToken } : { progressToken };
    const params = {
      name: 'get_job_status',
      arguments: { project_reference: 'agents', job_id: jobId, wait_seconds: 0.5 },
      _meta: meta,
      ...(viaSdk ? { 'x.example/extra': true } : {}),
    };
    const headers: Record<string, string> =
      era === 'modern'
        ? { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'get_job_status' }
        : { 'mcp-protocol-version': '2025-11-25' };
    return fetch(t.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${t.token}`,
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 11, method: 'tools/call', params }),
    });
  }

  it('streams the same frames as the SDK', async () => {
    const job = seed(t, 'agents', 'long_running');
    const answered = await answeredReads(t, 'agent_jobs');
    const lean = waitingCall(job, era === 'modern' ? 'lean' : 17, false);
    const sdk = waitingCall(job, era === 'modern' ? 'sdk' : 18, true);
    // Both calls are waiting (each has set its 500 ms deadline) and the job has been read once.
    await until('both waits to start', () => timers.pending().filter((ms) => ms === 500).length === 2);
    await until('the first read answered', async () => (await answeredReads(t, 'agent_jobs')) > answered);
    await timers.advance(500);
    const [a, b] = await Promise.all([lean, sdk]);
    for (const name of SSE_HEADERS) expect(a.headers.get(name)).toBe(b.headers.get(name));
    expect(a.headers.get('content-type')).toBe('text/event-stream');
    const [leanFrames, sdkFrames] = [frames(await a.text()), frames(await b.text())];
    const notifications = (fs: Frame[]) => fs.slice(0, -1).map((f) => ({ ...f, params: { ...f.params, progressToken: undefined } }));
    expect(notifications(leanFrames)).toEqual(notifications(sdkFrames));
    expect(notifications(leanFrames)).toHaveLength(9); // one per 0.05 s heartbeat until the 0.5 s deadline
    expect(leanFrames.slice(0, -1).map((f) => f.params?.progressToken)).toEqual(Array(9).fill(era === 'modern' ? 'lean' : 17));
    expect(leanFrames[0]).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: era === 'modern' ? 'lean' : 17, progress: 0.05, total: 0.5, message: 'Waiting: status running.' },
    });
    expect(leanFrames.at(-1)).toEqual(sdkFrames.at(-1));
    expect(leanFrames.at(-1)).toMatchObject({
      id: 11,
      result: { structuredContent: { status: 'running', changed: false, waited_seconds: 0.5 } },
    });
  });
});
