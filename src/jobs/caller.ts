// Who calls the job service, as far as the service needs to know: a key for per-caller limits, who it
// is for the logs, and whether it may use a project. How the caller was authenticated (tokens,
// claims, grants) stays in auth/, which builds callers; without authentication there is no caller.

/** A project as callers name it: its reference and its aliases. */
export interface ProjectNames {
  readonly reference: string;
  readonly aliases: readonly string[];
}

export interface Caller {
  /** The same caller on every call and every replica (issuer and subject, or client): per-caller limits count by it. */
  readonly key: string;
  /** Who it is, for logs and audit (never a token). */
  readonly identity: { readonly issuer: string; readonly subject: string | undefined; readonly clientId: string | undefined };
  /** Whether it may use this project; a project it may not use is answered exactly like an unknown one. */
  mayUse(project: ProjectNames): boolean;
}

/** The key of calls made without authentication: everyone is one caller. */
export const ANONYMOUS_KEY = 'anonymous';

export function callerKey(caller: Caller | undefined): string {
  return caller?.key ?? ANONYMOUS_KEY;
}
