// The project_runtime kind: Veryfront-style project runtimes and their Jobs API (docs/backends.md,
// project runtime).
import { defineBackendKind } from '../kind.ts';
import { createProjectRuntimeBackend } from './profile.ts';
import { projectRuntimeConfigSchema } from './config.ts';
import { projectRuntimeDetailsSchema } from './details.ts';

const SANDBOX_TOKEN = 'vf_sandbox_token';
const SANDBOX_PROJECT = 'dreamy-haven';

export const projectRuntimeKind = defineBackendKind({
  kind: 'project_runtime',
  config: projectRuntimeConfigSchema,
  details: projectRuntimeDetailsSchema,
  pollIntervalSeconds: { default: 3, description: 'Project runtimes.' },
  create: createProjectRuntimeBackend,
  backendUrls: (config) => [config.base_url],
  withBackendUrls: (config, move) => ({ ...config, base_url: move(config.base_url) }),
  simulation: {
    services: ['project_runtime'],
    defaultCredential: SANDBOX_TOKEN,
    defaultProject: SANDBOX_PROJECT,
    basePath: '',
    async start(_service, o) {
      const { startProjectRuntimeSim } = await import('./simulation/server.ts');
      return startProjectRuntimeSim({
        port: o.port,
        host: o.host,
        namespace: o.namespace,
        ...(o.clock ? { clock: o.clock } : {}),
        token: o.standalone?.credential ?? o.projects[0]?.backend.token ?? SANDBOX_TOKEN,
        // The runtime's own slugs of the projects pointing at it: the token may access each.
        projects: o.standalone ? [o.standalone.project ?? SANDBOX_PROJECT] : o.projects.map((p) => p.backend.remote_project ?? p.reference),
      });
    },
  },
});
