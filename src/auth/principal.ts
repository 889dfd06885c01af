// Who is calling, as established from a verified token. Never holds the token itself.

export interface Principal {
  issuer: string;
  /** `sub` only; undefined for a token without one (client credentials at some issuers). */
  subject: string | undefined;
  /** `client_id`, `azp` or `appid`. A verified token has a subject, a client id or both. */
  clientId: string | undefined;
  scopes: ReadonlySet<string>;
  /** Project references or aliases from the projects claim; '*' for all; undefined when the token has none. */
  projects: ReadonlySet<string> | '*' | undefined;
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
}

/**
 * One caller, for budgets: the user (`sub`), or the client for a token without one. The same name at
 * another issuer, or as a client rather than a user, is someone else.
 */
export function principalKey(p: Principal): string {
  return p.subject !== undefined ? `${p.issuer}\u0000sub\u0000${p.subject}` : `${p.issuer}\u0000client\u0000${p.clientId}`;
}
