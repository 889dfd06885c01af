// The sandbox's token issuer: a signing key (made at start, or kept from an earlier start), its JWKS
// served on loopback, and tokens minted on request (the ones printed at start-up). Asked for one (as
// the sandbox runner does), it is also a real OAuth 2.1 authorization server (src/sandbox/oauth/, on
// oidc-provider) signing with the same key, so MCP clients that sign in by themselves work against
// the sandbox. That part is loaded only here, with a dynamic import(): a production config never
// loads it, and a production install (which has no oidc-provider, a devDependency) gets the
// mint-only issuer and a note saying why.
// Given a state folder (src/sandbox/state.ts), the key and what the authorization server registered
// outlive a restart, so clients that kept their client id and tokens go on with them.
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { startSimServer, type SimServer } from '../simulation/sim-server.ts';
import { stateFile, type StateFile } from './state.ts';

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

/** What the authorization server needs to know about the gateway it issues tokens for. */
export interface AuthorizationServerSettings {
  /** The gateway's scopes (auth.scopes: read, then cancel). */
  scopes: readonly string[];
  /** The `aud` for a resource indicator a client asks for, or undefined when it names no gateway of this sandbox. */
  audienceFor: (indicator: string) => string | undefined;
}

export interface SandboxIssuerOptions {
  port?: number;
  host?: string;
  /** Also run the OAuth authorization server (when oidc-provider is installed). */
  authorizationServer?: AuthorizationServerSettings;
  /** The folder keeping the key and the registrations across restarts (default: none, all in memory). */
  stateDir?: string;
}

export interface SandboxIssuer {
  readonly server: SimServer;
  /** The `iss` value, which is also the base URL. */
  readonly issuer: string;
  readonly jwksUri: string;
  /** Whether it is also an OAuth authorization server (else it only signs tokens with mint()). */
  readonly authorizationServer: boolean;
  /** One line saying why the authorization server asked for is not running, and how to get it. */
  readonly note: string | undefined;
  mint(options: MintOptions): Promise<string>;
  /** A new signing key; the old one stays in the JWKS only if `keepOld` (as real issuers do for a while). */
  rotate(options?: { keepOld?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** The one user of the sandbox: tokens are minted for it, and the authorization server signs it in. */
export const SANDBOX_USER = 'sandbox-user';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  privateJwk: JWK;
  publicJwk: JWK;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  return keyFromJwk({ ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' });
}

async function keyFromJwk(privateJwk: JWK): Promise<SigningKey> {
  const { d: _private, ...publicJwk } = privateJwk;
  return { kid: privateJwk.kid!, privateKey: (await importJWK(privateJwk, 'ES256')) as CryptoKey, privateJwk, publicJwk };
}

/** The key kept in the state folder, or a new one written there. */
async function keptKey(file: StateFile | undefined): Promise<SigningKey> {
  const kept = file?.read();
  if (kept === undefined) {
    const key = await newKey();
    file?.write(key.privateJwk);
    return key;
  }
  const jwk = kept as Partial<Record<string, unknown>> | null;
  const fields = ['kid', 'x', 'y', 'd'].every((f) => typeof jwk?.[f] === 'string');
  if (!fields || jwk?.kty !== 'EC' || jwk.crv !== 'P-256' || jwk.alg !== 'ES256') throw file!.invalid('is not an ES256 private key');
  try {
    return await keyFromJwk(jwk as JWK);
  } catch (e) {
    throw file!.invalid(`is not a usable key (${(e as Error).message})`);
  }
}

type OAuthModule = typeof import('./oauth/server.ts');

export const MISSING_AUTHORIZATION_SERVER_NOTE =
  'The sandbox issuer only signs the tokens printed here: its OAuth authorization server needs the oidc-provider package (a devDependency: `npm ci` in a checkout, or `npm install oidc-provider`).';

/** The authorization server's code, or why it cannot be loaded (only a missing oidc-provider is expected). */
async function loadOAuth(): Promise<OAuthModule | string> {
  try {
    return await import('./oauth/server.ts');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes("'oidc-provider'")) return MISSING_AUTHORIZATION_SERVER_NOTE;
    throw e;
  }
}

export async function startSandboxIssuer(options: SandboxIssuerOptions = {}): Promise<SandboxIssuer> {
  // One key for every sandbox issuer on the machine: tokens still name their issuer (iss).
  const keyFile = options.stateDir === undefined ? undefined : stateFile(options.stateDir, 'issuer-key.json');
  let current = await keptKey(keyFile);
  let published: SigningKey[] = [current];
  let issuer = '';
  const loaded = options.authorizationServer ? await loadOAuth() : undefined;
  const oauth = typeof loaded === 'object' ? loaded : undefined;
  let authorizationServer: import('./oauth/server.ts').AuthorizationServer | undefined;

  const server = await startSimServer(
    (req) => {
      if (req.method === 'GET' && req.path === '/jwks.json') return { status: 200, json: { keys: published.map((k) => k.publicJwk) } };
      if (
        req.method === 'GET' &&
        (req.path === '/.well-known/openid-configuration' || req.path === '/.well-known/oauth-authorization-server')
      ) {
        return { status: 200, json: { issuer, jwks_uri: `${issuer}/jwks.json`, id_token_signing_alg_values_supported: ['ES256'] } };
      }
      return { status: 404, json: { error: 'not_found' } };
    },
    {
      ...(options.port !== undefined ? { port: options.port } : {}),
      host: options.host ?? '127.0.0.1',
      // The authorization server answers everything but the JWKS, which stays this issuer's.
      ...(oauth
        ? {
            passthrough: (req, res) => {
              if ((req.url ?? '/').split('?')[0] === '/jwks.json') return false;
              if (authorizationServer) authorizationServer.handle(req, res);
              else res.writeHead(503).end();
              return true;
            },
          }
        : {}),
    },
  );
  issuer = server.url;
  if (oauth && options.authorizationServer) {
    try {
      authorizationServer = oauth.createAuthorizationServer({
        issuer,
        signingKey: current.privateJwk,
        scopes: options.authorizationServer.scopes,
        audienceFor: options.authorizationServer.audienceFor,
        account: SANDBOX_USER,
        projects: ['*'],
        // Registrations are per issuer address: a client registered with another port's issuer has its own.
        ...(options.stateDir === undefined ? {} : { stateFile: stateFile(options.stateDir, `issuer-${server.port}.json`) }),
      });
    } catch (e) {
      await server.close();
      throw e;
    }
  }

  return {
    server,
    issuer,
    jwksUri: `${issuer}/jwks.json`,
    authorizationServer: authorizationServer !== undefined,
    note: typeof loaded === 'string' ? loaded : undefined,
    async mint(o) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: issuer,
        sub: o.subject ?? SANDBOX_USER,
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
      keyFile?.write(next.privateJwk);
      published = o.keepOld ? [next, ...published] : [next];
      current = next;
      authorizationServer?.useKey(next.privateJwk);
    },
    close: () => server.close(),
  };
}
