// Resolves a caller's project_reference (a reference or any alias) to a project and its backend.
import type { JobBackend } from './backend.ts';

export interface Project {
  /** The canonical reference, echoed in results whatever name the caller used. */
  reference: string;
  aliases: readonly string[];
  /** One line for agents, from the config (list_projects). */
  description?: string | undefined;
  backend: JobBackend;
  /** Time between two reads of one of its jobs that calls wait on (waits.poll_interval_seconds of its kind). */
  pollIntervalMs: number;
}

export interface ProjectRegistry {
  resolve(nameOrAlias: string): Project | undefined;
  projects(): readonly Project[];
  close(): Promise<void>;
}

export function createProjectRegistry(entries: readonly Project[]): ProjectRegistry {
  const byName = new Map<string, Project>();
  const list: Project[] = [];
  for (const e of entries) {
    const project = { ...e };
    list.push(project);
    for (const n of [e.reference, ...e.aliases]) byName.set(n, project);
  }
  return {
    resolve: (name) => byName.get(name),
    projects: () => list,
    async close() {
      await Promise.allSettled(list.map(async (p) => p.backend.close?.()));
    },
  };
}
