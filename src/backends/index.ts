// The closed set of backend kinds, and the one place a project's config becomes an adapter.
import type { ProjectConfig } from '../config/schema.ts';
import type { JobBackend } from '../jobs/backend.ts';
import type { StateStore } from '../state/store.ts';
import type { BackendCallObserver, BackendTracer } from './http/http-client.ts';
import { createAgentJobsBackend } from './agent-jobs/adapter.ts';
import { createComfycontrolBackend } from './comfycontrol/adapter.ts';
import { createComfyuiBackend } from './comfyui/adapter.ts';
import { createProjectRuntimeBackend } from './project-runtime/adapter.ts';

export interface BackendFactoryOptions {
  defaultTimeoutMs: number;
  now?: () => number;
  /** The gateway's state store: what adapters learn is kept there (shared with every replica on Redis). */
  state?: StateStore;
  /** An observer of a backend's HTTP calls, given its kind and configured name (metrics). */
  observerFor?: (backend: { kind: string; name: string }) => BackendCallObserver;
  /** Client spans for a backend's HTTP calls, given its kind and configured name (tracing). */
  tracerFor?: (backend: { kind: string; name: string }) => BackendTracer;
}

export function createBackend(project: ProjectConfig, options: BackendFactoryOptions): JobBackend {
  const b = project.backend;
  const name = b.name ?? project.reference;
  const common = {
    name,
    projectReference: project.reference,
    timeoutMs: b.timeout_ms ?? options.defaultTimeoutMs,
    ...(options.now ? { now: options.now } : {}),
    state: options.state,
    observe: options.observerFor?.({ kind: b.kind, name }),
    trace: options.tracerFor?.({ kind: b.kind, name }),
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
