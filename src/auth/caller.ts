// The job service's caller (jobs/caller.ts) for a verified token: its key, who it is, and which
// projects it may use (project-access.ts).
import type { Caller } from '../jobs/caller.ts';
import { principalKey, type Principal } from './principal.ts';
import { canAccess, type AccessControlled } from './project-access.ts';

/** Makes the caller of a principal, given every configured project with its access grants. */
export function createCallerFactory(projects: readonly AccessControlled[]): (principal: Principal) => Caller {
  const byReference = new Map(projects.map((p) => [p.reference, p]));
  return (principal) => ({
    key: principalKey(principal),
    identity: { issuer: principal.issuer, subject: principal.subject, clientId: principal.clientId },
    // A project the configuration does not name is nobody's.
    mayUse: (project) => {
      const controlled = byReference.get(project.reference);
      return controlled !== undefined && canAccess(principal, controlled);
    },
  });
}
