// Shared pieces of the auth tests: raw MCP requests with a chosen Authorization header, and a
// count of what the simulated backends received (to prove a refused request reached none).
import type { TestGateway } from '../helpers/gateway.ts';

export const ACCEPT = 'application/json, text/event-stream';

export function rpc(method: string, params: Record<string, unknown> = {}, id = 1) {
  return { jsonrpc: '2.0', id, method, params };
}

export const initialize = () =>
  rpc('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'auth-test', version: '1' } });

export async function post(url: string, body: unknown, headers: Record<string, string | undefined> = {}): Promise<Response> {
  const h: Record<string, string> = { 'content-type': 'application/json', accept: ACCEPT, 'mcp-protocol-version': '2025-11-25' };
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
  return fetch(url, { method: 'POST', headers: h, body: JSON.stringify(body) });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The 2025-era handshake with a token (stateless: no session id comes back), checked to succeed. */
export async function handshake(url: string, token: string): Promise<void> {
  const res = await post(url, initialize(), bearer(token));
  if (res.status !== 200) throw new Error(`initialize answered ${res.status}: ${await res.text()}`);
  if (res.headers.get('mcp-session-id') !== null) throw new Error('the gateway minted a session id');
  await res.body?.cancel();
  const ack = await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, bearer(token));
  if (ack.status !== 202) throw new Error(`initialized answered ${ack.status}`);
}

/** The JSON-RPC response carried by a JSON or SSE answer. */
export async function rpcResult(res: Response): Promise<{ result?: Record<string, unknown>; error?: { code: number; message: string } }> {
  const text = await res.text();
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const data = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
      .filter((l) => l.trim() !== '');
    return JSON.parse(data.at(-1)!);
  }
  return JSON.parse(text);
}

export function backendRequestCount(t: TestGateway): number {
  return t.sandbox.simulations.reduce((n, s) => n + s.server.requests.length, 0);
}
