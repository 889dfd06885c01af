// The gateway's lifecycle: a graceful stop lets in-flight calls finish, two gateways run side by
// side in one process without sharing state, and a shared state store that cannot be reached costs
// neither start-up nor readiness nor answers.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ComfyuiSim } from '../src/backends/comfyui/simulation/server.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { ManualTimers } from './helpers/manual-timers.ts';
import { freePort } from '../scripts/tools/ports.ts';

describe('gateway lifecycle', () => {
  const started: TestGateway[] = [];
  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map((t) => t.close()));
  });

  it('finishes an in-flight call during a graceful stop, while readiness turns false and new connections are refused', async () => {
    const t = await startTestGateway();
    started.push(t);
    const client = await t.client();
    const runtime = t.sandbox.simulations.find((s) => s.kind === 'project_runtime')!;
    // The backend answers only when the test says so: the call is in flight for every check below, however slow the machine.
    let answer!: () => void;
    runtime.server.setFault({ kind: 'hold', until: new Promise<void>((resolve) => (answer = resolve)) });
    const call = client.callTool({
      name: 'get_job_status',
      arguments: { project_reference: 'site-x', job_id: t.sandbox.seedsByProject.get('site-x')!.succeeded[0]! },
    });
    await expect.poll(() => runtime.server.openRequests()).toBe(1);
    const stopping = t.gateway.close({ graceMs: 10_000 });
    await expect.poll(async () => (await fetch(`${t.adminUrl}/readyz`).catch(() => undefined))?.status ?? 0).toBe(503);
    await expect(fetch(t.mcpUrl, { method: 'POST' })).rejects.toThrow(); // no new connections
    answer();
    expect((await call).structuredContent).toMatchObject({ status: 'succeeded' });
    await stopping;
  });

  it('gives up waiting after the grace period', async () => {
    const t = await startTestGateway();
    started.push(t);
    const client = await t.client();
    const runtime = t.sandbox.simulations.find((s) => s.kind === 'project_runtime')!;
    runtime.server.setFault({ kind: 'hang' });
    void client
      .callTool({
        name: 'get_job_status',
        arguments: { project_reference: 'site-x', job_id: t.sandbox.seedsByProject.get('site-x')!.succeeded[0]! },
      })
      .catch(() => {});
    await expect.poll(() => runtime.server.openRequests()).toBe(1);
    await t.gateway.close({ graceMs: 200 }); // resolves although the call never finished
    // The cut-off backend call was aborted, not left hanging until its own timeout.
    await expect.poll(() => runtime.server.openRequests()).toBe(0);
  });

  it('keeps an idle client connection open for keep_alive_timeout_seconds (default 65), then closes it', async () => {
    // One request on a raw connection; resolves with the Keep-Alive header and whether the
    // connection is still open `idleMs` after the answer. It resolves early when the server closes
    // the connection: a machine slower than the test's guess cannot make a closing look open.
    const idleAfterAnswer = (url: string, idleMs: number) =>
      new Promise<{ keepAlive: string | undefined; openAfterIdle: boolean }>((resolve, reject) => {
        const { hostname, port, pathname } = new URL(url);
        const socket = connect(Number(port), hostname);
        let text = '';
        let closed = false;
        let answered: (() => void) | undefined;
        socket.on('close', () => {
          closed = true;
          answered?.();
        });
        socket.on('error', reject);
        socket.on('data', (d) => {
          text += d.toString();
          if (!text.includes('\r\n\r\n') || answered) return;
          const keepAlive = /^keep-alive: (.*)$/im.exec(text)?.[1]?.trim();
          const timer = setTimeout(() => answered?.(), idleMs);
          answered = () => {
            clearTimeout(timer);
            resolve({ keepAlive, openAfterIdle: !closed });
            socket.destroy();
          };
        });
        socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
      });
    const byDefault = await startTestGateway();
    started.push(byDefault);
    expect(await idleAfterAnswer(byDefault.mcpUrl, 1500)).toEqual({ keepAlive: 'timeout=65', openAfterIdle: true });
    const short = await startTestGateway({ configure: (c) => ({ ...c, server: { ...c.server, keep_alive_timeout_seconds: 1 } }) });
    started.push(short);
    expect(await idleAfterAnswer(short.mcpUrl, 10_000)).toEqual({ keepAlive: 'timeout=1', openAfterIdle: false });
  });

  it('runs two gateways in one process with separate metrics and sessions', async () => {
    const a = await startTestGateway();
    const b = await startTestGateway();
    started.push(a, b);
    const client = await a.client();
    await client.callTool({ name: 'get_job_status', arguments: { project_reference: 'nope', job_id: 'x' } });
    const metrics = async (t: TestGateway) => (await fetch(`${t.adminUrl}/metrics`)).text();
    expect(await metrics(a)).toContain('outcome="UNKNOWN_PROJECT"');
    expect(await metrics(b)).not.toContain('outcome="UNKNOWN_PROJECT"');
  });

  it('starts and answers with an unreachable state store: state_store_up 0, still ready, what it learns kept in its own memory', async () => {
    const closed = await freePort();
    const t = await startTestGateway({
      configure: (c) => ({
        ...c,
        state: { store: 'redis', url: `redis://:pw@127.0.0.1:${closed}/0`, key_prefix: 'mcp-job-gateway:', operation_timeout_ms: 100 },
      }),
    });
    started.push(t);
    expect((await fetch(`${t.adminUrl}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${t.adminUrl}/metrics`)).text()).toMatch(/^mcp_job_gateway_state_store_up 0$/m);
    const client = await t.client();
    const comfy = t.sandbox.simulations.find((s): s is ComfyuiSim => s.kind === 'comfyui')!;
    const id = comfy.submit();
    const args = { project_reference: 'studio-a', job_id: id };
    expect((await client.callTool({ name: 'cancel_job', arguments: args })).structuredContent).toMatchObject({ outcome: 'cancelled' });
    expect((await client.callTool({ name: 'get_job_status', arguments: args })).structuredContent).toMatchObject({
      status: 'cancelled',
      found: true,
    });
    expect((await client.callTool({ name: 'cancel_job', arguments: args })).structuredContent).toMatchObject({
      outcome: 'already_terminal',
    });
  });

  it('with the default memory store, state_store_up is 1', async () => {
    const t = await startTestGateway();
    started.push(t);
    expect(await (await fetch(`${t.adminUrl}/metrics`)).text()).toMatch(/^mcp_job_gateway_state_store_up 1$/m);
  });

  it("times the adapters by the clock it is given (GatewayDeps.clock): a ComfyUI tombstone's date and its expiry", async () => {
    const timers = new ManualTimers();
    const t = await startTestGateway({ deps: { clock: timers } });
    started.push(t);
    const client = await t.client();
    const comfy = t.sandbox.simulations.find((s): s is ComfyuiSim => s.kind === 'comfyui')!;
    const args = { project_reference: 'studio-a', job_id: comfy.submit() };
    const removedAt = new Date(timers.now()).toISOString();
    expect((await client.callTool({ name: 'cancel_job', arguments: args })).structuredContent).toMatchObject({ outcome: 'cancelled' });
    const status = async () => (await client.callTool({ name: 'get_job_status', arguments: args })).structuredContent;
    expect(await status()).toMatchObject({ status: 'cancelled', found: true, completed_at: removedAt });
    await timers.advance(7 * 24 * 3600_000); // the tombstone's age limit: it still holds
    expect(await status()).toMatchObject({ status: 'cancelled', found: true, completed_at: removedAt });
    await timers.advance(1);
    expect(await status()).toMatchObject({ status: 'unknown', found: false });
  });
});
