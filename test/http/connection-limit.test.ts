// The process-wide bound on client connections: at server.max_connections the next connection is
// closed as it is accepted (before a byte of it is read), counted, and warned of at most once an
// interval; once a connection closes, a new one is served. The default comes from the open-files limit.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { maxConnectionsFor } from '../../src/http/connection-limit.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

/** A connection that has been accepted (it got the answer to a request), kept open. */
function openConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('latin1');
    socket.once('error', reject);
    socket.once('data', () => resolve(socket));
    socket.write(`GET /nothing-here HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  });
}

/** What the server does with one more connection: 'closed' before answering, or 'answered'. */
function fate(port: number): Promise<'closed' | 'answered'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('latin1');
    socket.once('data', () => {
      socket.destroy();
      resolve('answered');
    });
    socket.once('error', () => resolve('closed'));
    socket.once('close', () => resolve('closed'));
    socket.write(`GET /nothing-here HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  });
}

async function refusedCount(t: TestGateway): Promise<number> {
  const text = await t.gateway.metrics.registry.getSingleMetricAsString('mcp_job_gateway_connections_refused_total');
  return Number(/^mcp_job_gateway_connections_refused_total (\d+)/m.exec(text)?.[1]);
}

describe('connection limit', () => {
  let t: TestGateway | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await t?.close();
    t = undefined;
  });

  it('closes a connection beyond server.max_connections, counts it, warns once an interval, and serves again when one closes', async () => {
    const warnings: unknown[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    t = await startTestGateway({ configure: (c) => ({ ...c, server: { ...c.server, max_connections: 3 } }), deps: { logger } });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }); // the warnings' interval
    const held = [await openConnection(t.port), await openConnection(t.port), await openConnection(t.port)];
    expect(await fate(t.port)).toBe('closed');
    expect(await fate(t.port)).toBe('closed');
    expect(await refusedCount(t)).toBe(2);
    const limitWarnings = () => warnings.filter((w) => (w as { msg: string }).msg.includes('server.max_connections'));
    expect(limitWarnings()).toEqual([expect.objectContaining({ closed: 1, max_connections: 3 })]);
    vi.advanceTimersByTime(60_000); // the interval ends: the one closed since is told
    expect(limitWarnings()).toEqual([expect.objectContaining({ closed: 1 }), expect.objectContaining({ closed: 1 })]);
    vi.advanceTimersByTime(60_000); // nothing closed since: no line
    expect(limitWarnings()).toHaveLength(2);
    held[0]!.destroy();
    await new Promise((r) => held[0]!.once('close', r));
    // The server counts the connection gone once its close is handled, a turn or two later.
    let answered: string = 'closed';
    for (let i = 0; i < 100 && answered === 'closed'; i++) answered = await fate(t.port);
    expect(answered).toBe('answered');
    for (const s of held) s.destroy();
  });

  it('derives the default from the open-files limit', () => {
    expect(maxConnectionsFor(1024)).toBe(576);
    expect(maxConnectionsFor(65_536)).toBe(48_960);
    expect(maxConnectionsFor(300)).toBe(64);
    expect(maxConnectionsFor(undefined)).toBe(576);
    expect(maxConnectionsFor(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });
});
