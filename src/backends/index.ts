// The closed set of backend kinds, and the one place a project's config becomes an adapter.
import type { ProjectConfig } from '../config/schema.ts';
import type { JobBackend } from '../jobs/backend.ts';
import { createAgentJobsBackend } from './agent-jobs.ts';
import { createComfycontrolBackend } from './comfycontrol.ts';
import { createComfyuiBackend } from './comfyui.ts';
import { createProjectRuntimeBackend } from './project-runtime.ts';

export interface BackendFactoryOptions {
  defaultTimeoutMs: number;
  now?: () => number;
}

export function createBackend(project: ProjectConfig, options: BackendFactoryOptions): JobBackend {
  const b = project.backend;
  const common = {
    name: b.name ?? project.reference,
    projectReference: project.reference,
    timeoutMs: b.timeout_ms ?? options.defaultTimeoutMs,
    ...(options.now ? { now: options.now } : {}),
  };
  switch (b.kind) {
    case 'comfyui':
      return createComfyuiBackend(b, common);
    case 'agent_jobs':
      return createAgentJobsBackend(b, common);
    case 'project_runtime':
      return createProjectRuntimeBackend(b, common);
    case 'comfycontrol':
      return createComfycontrolBackend(b, common);
  }
}
