// The comfycontrol kind: ComfyControl's cloud workflows (docs/backends.md, ComfyControl).
import { defineBackendKind } from '../kind.ts';
import { createComfycontrolBackend } from './profile.ts';
import { comfycontrolConfigSchema } from './config.ts';
import { comfycontrolDetailsSchema } from './details.ts';

const SANDBOX_TOKEN = 'cfc_sandbox_token';

export const comfycontrolKind = defineBackendKind({
  kind: 'comfycontrol',
  config: comfycontrolConfigSchema,
  details: comfycontrolDetailsSchema,
  pollIntervalSeconds: {
    default: 5,
    description: 'ComfyControl: every wait shares its 40 requests / 10 s, so at 5 s five waited-on jobs take a quarter of it.',
  },
  create: createComfycontrolBackend,
  backendUrls: (config) => [config.base_url],
  withBackendUrls: (config, move) => ({ ...config, base_url: move(config.base_url) }),
  simulation: {
    services: ['comfycontrol'],
    defaultCredential: SANDBOX_TOKEN,
    basePath: '',
    async start(_service, o) {
      const { startComfycontrolSim } = await import('./simulation/server.ts');
      return startComfycontrolSim({
        port: o.port,
        host: o.host,
        namespace: o.namespace,
        ...(o.clock ? { clock: o.clock } : {}),
        token: o.standalone?.credential ?? o.projects[0]?.backend.token ?? SANDBOX_TOKEN,
      });
    },
  },
});
