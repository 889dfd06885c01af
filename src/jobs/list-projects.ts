// list_projects, independent of MCP: the projects this caller may use, in the config's order, each
// with the names it answers to, its backend and the operator's one-line description. A project the
// caller may not use is left out, exactly as it is answered UNKNOWN_PROJECT elsewhere.
import type { Caller } from './caller.ts';
import type { JobRef, Reply } from './replies.ts';
import type { ProjectRegistry } from './registry.ts';

export interface ListedProject {
  project_reference: string;
  aliases: string[];
  backend: JobRef['backend'];
  description?: string;
}

export interface ListProjectsResult {
  projects: ListedProject[];
}

export function listProjects(registry: ProjectRegistry, caller: Caller | undefined): Reply<ListProjectsResult> {
  const projects = registry
    .projects()
    .filter((p) => caller === undefined || caller.mayUse(p))
    .map((p) => ({
      project_reference: p.reference,
      aliases: [...p.aliases],
      backend: { name: p.backend.name, kind: p.backend.kind },
      ...(p.description !== undefined ? { description: p.description } : {}),
    }));
  return { ok: true, value: { projects } };
}
