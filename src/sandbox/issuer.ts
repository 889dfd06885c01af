// The sandbox's token issuer: a signing key made at start, its JWKS served on loopback, and tokens
// minted on request. It lets a newcomer see the real flow (bearer JWT, scopes, audience) without an
// identity provider. It issues nothing on its own: no login, no authorization endpoint.
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { startSimServer, type SimServer } from './sim-server.ts';

export interface MintOptions {
  audience: string | string[];
  scopes: readonly string[];
  subject?: string;
  clientId?: string;
  /** Value of the projects claim; default ["*"]. */
  projects?: readonly string[];
  /** Lifetime in seconds; default 12 hours. */
  ttlSeconds?: number;
  /** Claims set last, to shape tokens in tests (undefined removes a claim). */
  claims?: Record<string, unknown>;
}

export interface SandboxIssuer {
  readonly server: SimServer;
  /** The `iss` value, which is also the base URL. */
  readonly issuer: string;
  readonly jwksUri: string;
  mint(options: MintOptions): Promise<string>;
  /** A new signing key; the old one stays in the JWKS only if `keepOld` (as real issuers do for a while). */
  rotate(options?: { keepOld?: boolean }): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

export async function startSandboxIssuer(options: { port?: number; host?: string } = {}): Promise<SandboxIssuer> {
  let current = await newKey();
  let published: SigningKey[] = [current];
  let issuer = '';
  const server = await startSimServer(
    (req) => {
      if (req.method === 'GET' && req.path === '/jwks.json') return { status: 200, json: { keys: published.map((k) => k.publicJwk) } };
      if (req.method === 'GET' && (req.path === '/.well-known/openid-configuration' || req.path === '/.well-known/oauth-authorization-server')) {
        return { status: 200, json: { issuer, jwks_uri: `${issuer}/jwks.json`, id_token_signing_alg_values_supported: ['ES256'] } };
      }
      return { status: 404, json: { error: 'not_found' } };
    },
    { ...(options.port !== undefined ? { port: options.port } : {}), host: options.host ?? '127.0.0.1' },
  );
  issuer = server.url;

  return {
    server,
    issuer,
    jwksUri: `${issuer}/jwks.json`,
    async mint(o) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer,
        sub: o.subject ?? 'sandbox-user',
        aud: o.audience,
        iat: now,
        exp: now + (o.ttlSeconds ?? 12 * 3600),
        jti: randomUUID(),
        scope: o.scopes.join(' '),
        projects: [...(o.projects ?? ['*'])],
        client_id: o.clientId ?? 'sandbox-client',
        ...o.claims, // last, so a test can shape any claim; undefined removes one
      };
      for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt' }).sign(current.privateKey);
    },
    async rotate(o = {}) {
      const next = await newKey();
      published = o.keepOld ? [next, ...published] : [next];
      current = next;
    },
    close: () => server.close(),
  };
}
