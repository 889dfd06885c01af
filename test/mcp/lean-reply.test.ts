// The lean path's answer writer: one JSON body when nothing preceded the result, an event stream
// with the SDK's headers and frames from the first progress notification on, a keep-alive comment
// on a quiet stream, and nothing written to a response the client has closed.
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLeanReply } from '../../src/mcp/lean-reply.ts';

/** The parts of a ServerResponse the writer uses, recording what is written. */
class RecordedResponse extends EventEmitter {
  status: number | undefined;
  headers: Record<string, string | number> = {};
  chunks: string[] = [];
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  writeHead(status: number, headers: Record<string, string | number>) {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }
  write(chunk: string) {
    this.chunks.push(chunk);
    return true;
  }
  end(chunk?: string) {
    if (chunk !== undefined) this.chunks.push(chunk);
    this.writableEnded = true;
    this.emit('close');
    return this;
  }
}

const reply = (res: RecordedResponse, token?: string | number, keepAliveMs?: number) =>
  createLeanReply(res as unknown as ServerResponse, token, keepAliveMs);

afterEach(() => vi.useRealTimers());

describe('lean reply', () => {
  it('writes one JSON body when no notification came first, with or without a progress token', () => {
    for (const token of [undefined, 'p']) {
      const res = new RecordedResponse();
      reply(res, token).end('{"jsonrpc":"2.0","id":1,"result":{}}');
      expect(res.status).toBe(200);
      expect(res.headers).toEqual({ 'content-type': 'application/json', 'content-length': 36 });
      expect(res.chunks).toEqual(['{"jsonrpc":"2.0","id":1,"result":{}}']);
    }
    expect(reply(new RecordedResponse()).progress).toBeUndefined();
  });

  it('streams from the first progress notification, as the SDK frames it, and ends with the result', async () => {
    const res = new RecordedResponse();
    const r = reply(res, 7);
    await r.progress!({ progress: 1, total: 60, message: 'Waiting: status queued.' });
    await r.progress!({ progress: 2, total: 60 });
    r.end('{"jsonrpc":"2.0","id":"a","result":{"x":"y\\nz"}}');
    expect(res.headers).toEqual({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    expect(res.chunks).toEqual([
      'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7,"progress":1,"total":60,"message":"Waiting: status queued."}}\n\n',
      'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7,"progress":2,"total":60}}\n\n',
      'event: message\ndata: {"jsonrpc":"2.0","id":"a","result":{"x":"y\\nz"}}\n\n',
    ]);
    expect(res.writableEnded).toBe(true);
  });

  it('keeps a quiet stream open with a comment every keep-alive interval, and stops at the end', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const res = new RecordedResponse();
    const r = reply(res, 'p', 15_000);
    await r.progress!({ progress: 1 });
    vi.advanceTimersByTime(14_999);
    expect(res.chunks).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(res.chunks.at(-1)).toBe(': keepalive\n\n');
    vi.advanceTimersByTime(15_000);
    expect(res.chunks.filter((c) => c.startsWith(':'))).toHaveLength(2);
    r.end('{}');
    vi.advanceTimersByTime(60_000);
    expect(res.chunks.filter((c) => c.startsWith(':'))).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('writes nothing more once the client has gone, and clears its keep-alive', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const res = new RecordedResponse();
    const r = reply(res, 'p');
    await r.progress!({ progress: 1 });
    res.destroyed = true;
    res.emit('close');
    await r.progress!({ progress: 2 });
    r.end('{}');
    expect(res.chunks).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
