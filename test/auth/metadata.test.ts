// RFC 9728 protected-resource metadata, at both discovery locations, built from the configured
// public URL whatever the request's Host or forwarding headers say.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

describe('protected-resource metadata', () => {
  let t: TestGateway;
  beforeAll(async () => {
    // As behind a TLS-terminating proxy: clients know the gateway as https://jobs.example.com/mcp.
    t = await startTestGateway({
      configure: (c) => ({
        ...c,
        server: { ...c.server, public_url: 'https://jobs.example.com/mcp', allowed_hosts: ['127.0.0.1', 'jobs.example.com'] },
      }),
    });
  });
  afterAll(async () => t?.close());

  it('is served at the root and the path form with resource, servers, scopes and bearer methods', async () => {
    expect(t.mcpUrl).toBe('https://jobs.example.com/mcp');
    const port = t.port;
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const res = await request(`http://127.0.0.1:${port}${path}`, {
        headers: { host: 'jobs.example.com', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(await res.body.json()).toEqual({
        resource: 'https://jobs.example.com/mcp',
        authorization_servers: [t.sandbox.issuer!.issuer],
        scopes_supported: ['jobs:read', 'jobs:cancel'],
        bearer_methods_supported: ['header'],
        resource_name: 'mcp-job-gateway',
      });
    }
  });

  it('names the public URL in 401 challenges, and takes tokens issued for it', async () => {
    const port = t.port;
    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    });
    const headers = { host: 'jobs.example.com', 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const refused = await request(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers, body: init });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toContain(
      'resource_metadata="https://jobs.example.com/.well-known/oauth-protected-resource/mcp"',
    );
    await refused.body.text();
    const token = await t.mint({ audience: 'https://jobs.example.com/mcp' });
    const ok = await request(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${token}` },
      body: init,
    });
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
  });
});
