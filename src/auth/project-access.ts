// Which projects a caller may touch: those its token's projects claim names (by reference or alias,
// or "*"), and those whose `access` grants its subject (`sub`) or its client, at its issuer. Without
// authentication (auth: none) every project is open. A denied project is answered exactly like an
// unknown one.
import type { ProjectAccess } from '../config/schema.ts';
import type { Principal } from './principal.ts';

export interface AccessControlled {
  reference: string;
  aliases: readonly string[];
  access?: ProjectAccess | undefined;
}

export function canAccess(caller: Principal | undefined, project: AccessControlled): boolean {
  if (!caller) return true;
  const claim = caller.projects;
  if (claim === '*') return true;
  if (claim && (claim.has(project.reference) || project.aliases.some((a) => claim.has(a)))) return true;
  const grants = project.access;
  if (!grants) return false;
  // A bare grant (no issuer) passes config validation only while a single issuer is trusted, so
  // every verified token comes from the issuer it means.
  const { issuer, subject, clientId } = caller;
  if (
    subject !== undefined &&
    grants.subjects.some((g) => (typeof g === 'string' ? g === subject : g.issuer === issuer && g.subject === subject))
  )
    return true;
  return (
    clientId !== undefined &&
    grants.clients.some((g) => (typeof g === 'string' ? g === clientId : g.issuer === issuer && g.client === clientId))
  );
}
