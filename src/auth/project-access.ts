// Which projects a caller may touch: those its token's projects claim names (by reference or alias,
// or "*"), and those whose `access` grants its subject or client. Without authentication (auth: none)
// every project is open. A denied project is answered exactly like an unknown one.
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
  return grants.subjects.includes(caller.subject) || (caller.clientId !== undefined && grants.clients.includes(caller.clientId));
}
