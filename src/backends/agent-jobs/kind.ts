// The agent_jobs kind: AI Connect's agent-jobs service (docs/backends.md, agent-jobs).
import { defineBackendKind } from '../kind.ts';
import { createAgentJobsBackend } from './profile.ts';
import { agentJobsConfigSchema } from './config.ts';
import { agentJobsDetailsSchema } from './details.ts';

const SANDBOX_API_KEY = 'sandbox-agent-jobs-key';

export const agentJobsKind = defineBackendKind({
  kind: 'agent_jobs',
  config: agentJobsConfigSchema,
  details: agentJobsDetailsSchema,
  pollIntervalSeconds: { default: 3, description: 'AI Connect agent-jobs.' },
  create: createAgentJobsBackend,
  backendUrls: (config) => [config.base_url],
  withBackendUrls: (config, move) => ({ ...config, base_url: move(config.base_url) }),
  simulation: {
    services: ['agent_jobs'],
    defaultCredential: SANDBOX_API_KEY,
    basePath: '/api/v0',
    async start(_service, o) {
      const { startAgentJobsSim } = await import('./simulation/server.ts');
      const b = o.projects[0]?.backend;
      return startAgentJobsSim({
        port: o.port,
        host: o.host,
        namespace: o.namespace,
        ...(o.clock ? { clock: o.clock } : {}),
        apiKey: o.standalone?.credential ?? b?.api_key ?? SANDBOX_API_KEY,
        ...(b?.org_id ? { orgId: b.org_id } : {}),
      });
    },
  },
});
