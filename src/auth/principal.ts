// Who is calling, as established from a verified token. Never holds the token itself.

export interface Principal {
  issuer: string;
  /** `sub`, or the client id for tokens without one (client credentials at some issuers). */
  subject: string;
  clientId: string | undefined;
  scopes: ReadonlySet<string>;
  /** Project references or aliases from the projects claim; '*' for all; undefined when the token has none. */
  projects: ReadonlySet<string> | '*' | undefined;
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
}

/** One caller, for budgets: the same subject at another issuer is someone else. */
export function principalKey(p: Principal): string {
  return `${p.issuer}\u0000${p.subject}`;
}
