// The gateway's side of the benchmark: an ES256 key pair, a JWKS file for the config's local
// `jwks_file` issuer, a bearer token for the MCP URL, and a config with OAuth on, the admin listener
// (metrics) on, one agent_jobs project on the fake backend, a caller rate limit that refuses nothing
// and, for the redis run, `state.store: redis`; and, after the load, the gateway's own count of tool
// calls by outcome from its /metrics.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { stringify } from 'yaml';
import { BACKEND_KEY, PROJECT } from './shapes.ts';

const ISSUER = 'https://bench-issuer.invalid/';
const KID = 'bench-key-1';

export interface GatewaySetup {
  configFile: string;
  mcpUrl: string;
  adminUrl: string;
  token: string;
}

export interface GatewayVariant {
  /** Names the files (NAME.yaml, NAME-jwks.json), so that two gateways can run side by side. */
  name: string;
  /** The shared state store: omitted, the default (memory). */
  stateUrl?: string;
}

export async function writeGatewayConfig(
  dir: string,
  ports: { mcp: number; admin: number; backend: number },
  variant: GatewayVariant,
): Promise<GatewaySetup> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwksFile = join(dir, `${variant.name}-jwks.json`);
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' }] }));
  const mcpUrl = `http://127.0.0.1:${ports.mcp}/mcp`;
  const token = await new SignJWT({ scope: 'jobs:read jobs:cancel', projects: [PROJECT] })
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setSubject('bench-agent')
    .setAudience(mcpUrl)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);

  const config = {
    server: {
      host: '127.0.0.1',
      port: ports.mcp,
      path: '/mcp',
      shutdown_grace_seconds: 5,
      // The schema's maxima: per_second 100000, burst 1000000. One caller sends the whole load.
      caller_rate_limit: { enabled: true, per_second: 100_000, burst: 1_000_000 },
    },
    admin: { enabled: true, host: '127.0.0.1', port: ports.admin },
    auth: { mode: 'oauth', issuers: [{ issuer: ISSUER, jwks_file: jwksFile }], algorithms: ['ES256'] },
    projects: [
      { reference: PROJECT, backend: { kind: 'agent_jobs', base_url: `http://127.0.0.1:${ports.backend}/api/v0`, api_key: BACKEND_KEY } },
    ],
    ...(variant.stateUrl !== undefined ? { state: { store: 'redis', url: variant.stateUrl } } : {}),
  };
  const configFile = join(dir, `${variant.name}.yaml`);
  writeFileSync(configFile, stringify(config));
  return { configFile, mcpUrl, adminUrl: `http://127.0.0.1:${ports.admin}`, token };
}

/** Tool calls the gateway counted, by outcome: shows that the load got real answers, not in-band errors. */
export async function gatewayOutcomes(adminUrl: string, label: string): Promise<string> {
  try {
    const text = await (await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const byOutcome = new Map<string, number>();
    for (const m of text.matchAll(/^mcp_job_gateway_tool_calls_total\{([^}]*)\}\s+(\S+)$/gm)) {
      const outcome = /outcome="([^"]*)"/.exec(m[1]!)?.[1] ?? '?';
      byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + Number(m[2]));
    }
    const list = [...byOutcome].map(([k, v]) => `${k}=${v}`).join(', ');
    return `${label} tool calls by outcome (from its /metrics, warm-up and checks included): ${list || 'none'}`;
  } catch (e) {
    return `${label} /metrics could not be read: ${(e as Error).message}`;
  }
}
