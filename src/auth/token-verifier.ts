// Bearer JWT verification with jose: signature against the issuer's keys (remote JWKS cached and
// refetched on an unknown kid with a cooldown, or a local JWKS file), issuer, audience, exp (required),
// nbf, iat not in the future, clock tolerance and an asymmetric algorithm allow-list. Scopes come from
// the claims named in auth.scope_claims (default `scope` and `scp`, each a space-separated string or an
// array), so Entra (add `roles` for app-only tokens), Okta, Auth0 and Keycloak tokens all work.
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { OAuthConfig } from '../config/schema.ts';
import type { Principal } from './principal.ts';

/** Why a token was refused; bounded, so it can label a metric. */
export type AuthFailureReason =
  | 'missing'
  | 'not_bearer'
  | 'token_in_query'
  | 'too_large'
  | 'malformed'
  | 'algorithm'
  | 'unknown_issuer'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_claim'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'keys_unavailable'
  | 'insufficient_scope';

export class AuthFailure extends Error {
  readonly reason: AuthFailureReason;
  /** 401, or 503 when the issuer's keys cannot be had at all. */
  readonly status: 401 | 503;
  constructor(reason: AuthFailureReason, message: string, status: 401 | 503 = 401) {
    super(message);
    this.name = 'AuthFailure';
    this.reason = reason;
    this.status = status;
  }
}

export interface TokenVerifier {
  /**
   * The token's principal, or an AuthFailure. `connection` (the request's socket) lets a client that
   * sends the same token on every call over one connection skip even the hash of the token.
   */
  verify(token: string, connection?: object): Promise<Principal>;
  /** The principal of `token` if it is the last one verified on this connection and still trusted; no other check. */
  remembered(token: string, connection: object): Principal | undefined;
  /** Fetches every remote JWKS once, so the first caller does not wait and readiness can tell. */
  warmUp(): Promise<void>;
  /** Whether every issuer's keys are at hand (fetched or from a file); a readiness check. */
  keysAvailable(): boolean;
}

interface IssuerKeys {
  issuer: string;
  getKey: JWTVerifyGetKey;
  warmUp(): Promise<void>;
  available(): boolean;
}

export interface TokenVerifierOptions {
  /**
   * Milliseconds since the epoch: token times (exp, nbf, iat), how long a checked token is trusted, and
   * the last good key set's age. The global Date by default, the clock jose's JWKS cache and refetch
   * cooldown read too (it takes none): the gateway leaves it so, its tests move Date.
   */
  now?: () => number;
  /** Verified tokens remembered (default 10 000; 0 checks every signature). */
  cacheSize?: number;
}

/**
 * How long a verified token is taken on trust without checking its signature again: never past its
 * `exp`, and at most this long, so a key withdrawn from the issuer's JWKS stops working soon after.
 */
const CACHE_MAX_AGE_MS = 300_000;

interface Verified {
  principal: Principal;
  /** When the token stops being taken on trust (ms). */
  until: number;
}

export function createTokenVerifier(config: OAuthConfig, audience: readonly string[], options: TokenVerifierOptions = {}): TokenVerifier {
  const now = options.now ?? (() => Date.now());
  const issuers = new Map<string, IssuerKeys>(config.issuers.map((i) => [i.issuer, { issuer: i.issuer, ...keysFor(i, config, now) }]));
  const algorithms = [...config.algorithms];
  // Checking an ES256/RS256 signature is the costliest step of a call, and an agent sends the same
  // token many times: remember verified ones, keyed by a hash (the shared cache never holds a token).
  const cache = new Map<string, Verified>();
  const cacheSize = options.cacheSize ?? 10_000;
  // The last token verified on each connection, with the same time limit, so a connection that sends
  // its token again skips hashing it (see docs/performance.md). Held only while the connection lives
  // (a socket is the key).
  const lastOnConnection = new WeakMap<object, { token: string; verified: Verified }>();
  const remembered = (token: string, connection: object): Principal | undefined => {
    const last = lastOnConnection.get(connection);
    return last && last.token === token && now() < last.verified.until ? last.verified.principal : undefined;
  };

  return {
    remembered,
    async verify(token, connection) {
      if (token.length > config.max_token_bytes)
        throw new AuthFailure('too_large', `The token is longer than ${config.max_token_bytes} bytes`);
      const known = connection && remembered(token, connection);
      if (known) return known;
      const key = hash('sha256', token, 'base64'); // one-shot: cheaper than a Hash object per call
      let verified = cache.get(key);
      if (verified && now() >= verified.until) {
        cache.delete(key);
        verified = undefined;
      }
      if (!verified) {
        const principal = await verifySignedToken(token);
        verified = { principal, until: Math.min(principal.expiresAt * 1000, now() + CACHE_MAX_AGE_MS) };
        if (cacheSize === 0) return principal; // neither cache nor connection remembers it
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!); // the oldest entry
        cache.set(key, verified);
      }
      if (connection) lastOnConnection.set(connection, { token, verified });
      return verified.principal;
    },
    async warmUp() {
      await Promise.all([...issuers.values()].map((i) => i.warmUp()));
    },
    keysAvailable: () => [...issuers.values()].every((i) => i.available()),
  };

  async function verifySignedToken(token: string): Promise<Principal> {
    let alg: unknown;
    let claims: JWTPayload;
    try {
      alg = decodeProtectedHeader(token).alg;
      claims = decodeJwt(token);
    } catch {
      throw new AuthFailure('malformed', 'The token is not a well-formed JWT');
    }
    if (typeof alg !== 'string' || !algorithms.includes(alg as (typeof algorithms)[number])) {
      throw new AuthFailure('algorithm', 'The token is signed with an algorithm this gateway does not accept');
    }
    const keys = typeof claims.iss === 'string' ? issuers.get(claims.iss) : undefined;
    if (!keys) throw new AuthFailure('unknown_issuer', 'The token was not issued by a trusted issuer');

    let payload: JWTPayload;
    const at = now();
    try {
      ({ payload } = await jwtVerify(token, keys.getKey, {
        issuer: keys.issuer,
        audience: [...audience],
        algorithms,
        clockTolerance: config.clock_tolerance_seconds,
        requiredClaims: ['exp'],
        currentDate: new Date(at),
      }));
    } catch (e) {
      throw toFailure(e);
    }
    // jose checks iat only against a maxTokenAge: a token "issued" later than now is refused like nbf.
    if (payload.iat !== undefined && payload.iat > at / 1000 + config.clock_tolerance_seconds) {
      throw new AuthFailure('not_yet_valid', 'The token was issued in the future (iat); check the clocks');
    }
    return toPrincipal(payload, keys.issuer, config);
  }
}

function keysFor(issuer: OAuthConfig['issuers'][number], config: OAuthConfig, now: () => number): Omit<IssuerKeys, 'issuer'> {
  if (issuer.jwks_file !== undefined) {
    const jwks = JSON.parse(readFileSync(issuer.jwks_file, 'utf8')) as JSONWebKeySet;
    return { getKey: createLocalJWKSet(jwks), warmUp: async () => {}, available: () => true };
  }
  const remote = createRemoteJWKSet(new URL(issuer.jwks_uri!), {
    cacheMaxAge: config.jwks_cache_max_age_seconds * 1000,
    cooldownDuration: config.jwks_cooldown_seconds * 1000,
    timeoutDuration: config.jwks_timeout_ms,
  });
  // jose drops stale keys when a refresh fails; an issuer whose JWKS endpoint is briefly down should
  // not lock every caller out, so the last key set fetched successfully stays in use until it answers.
  // Copied at most once a minute: remote.jwks() clones the set, too costly for every request.
  let lastGood: { at: number; local: JWTVerifyGetKey } | undefined;
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      const key = await remote(header, token);
      if (!lastGood || now() - lastGood.at > 60_000) {
        const current = remote.jwks();
        if (current) lastGood = { at: now(), local: createLocalJWKSet(current) };
      }
      return key;
    } catch (e) {
      if (!isFetchFailure(e)) throw e;
      if (lastGood) return lastGood.local(header, token);
      throw new AuthFailure('keys_unavailable', "The issuer's signing keys cannot be fetched right now; try again shortly", 503);
    }
  };
  return {
    getKey,
    async warmUp() {
      try {
        await remote.reload();
        const current = remote.jwks();
        if (current) lastGood = { at: now(), local: createLocalJWKSet(current) };
      } catch {
        // Not fatal: readiness reports it, and every verification tries again.
      }
    },
    available: () => lastGood !== undefined || remote.jwks() !== undefined,
  };
}

function isFetchFailure(e: unknown): boolean {
  if (e instanceof errors.JWKSTimeout) return true;
  if (e instanceof errors.JOSEError) return e.code === 'ERR_JOSE_GENERIC' || e.code === 'ERR_JWKS_INVALID';
  return e instanceof TypeError || (e instanceof Error && /fetch|ECONNREFUSED|network/i.test(e.message));
}

function toFailure(e: unknown): AuthFailure {
  if (e instanceof AuthFailure) return e;
  if (e instanceof errors.JWTExpired) return new AuthFailure('expired', 'The token has expired');
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf') return new AuthFailure('not_yet_valid', 'The token is not valid yet');
    if (e.claim === 'iss') return new AuthFailure('wrong_issuer', 'The token was not issued by a trusted issuer');
    if (e.claim === 'aud') return new AuthFailure('wrong_audience', 'The token was not issued for this resource');
    if (e.reason === 'missing') return new AuthFailure('missing_claim', `The token has no "${e.claim}" claim`);
    return new AuthFailure('malformed', `The token's "${e.claim}" claim is invalid`);
  }
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys)
    return new AuthFailure('unknown_key', "The token's signing key is not one of the issuer's keys");
  if (e instanceof errors.JWSSignatureVerificationFailed) return new AuthFailure('bad_signature', "The token's signature does not verify");
  if (e instanceof errors.JOSEAlgNotAllowed)
    return new AuthFailure('algorithm', 'The token is signed with an algorithm this gateway does not accept');
  return new AuthFailure('malformed', 'The token could not be verified');
}

function toPrincipal(payload: JWTPayload, issuer: string, config: OAuthConfig): Principal {
  const clientId = stringClaim(payload.client_id) ?? stringClaim(payload.azp) ?? stringClaim(payload.appid);
  // Only `sub` is a subject: a client id standing in for it would match grants meant for a user.
  const subject = stringClaim(payload.sub);
  if (subject === undefined && clientId === undefined) throw new AuthFailure('missing_claim', 'The token names no subject (sub) or client');
  return {
    issuer,
    subject,
    clientId,
    scopes: new Set(config.scope_claims.flatMap((claim) => words(payload[claim]))),
    projects: projectsOf(config.projects_claim === null ? undefined : payload[config.projects_claim]),
    expiresAt: payload.exp!,
  };
}

function stringClaim(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function words(v: unknown): string[] {
  if (typeof v === 'string') return v.split(' ').filter(Boolean);
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x.length > 0);
  return [];
}

function projectsOf(v: unknown): Principal['projects'] {
  const list = words(v);
  if (v === undefined || list.length === 0) return undefined;
  return list.includes('*') ? '*' : new Set(list);
}
