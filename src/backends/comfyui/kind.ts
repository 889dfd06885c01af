// The ComfyUI kind: self-hosted ComfyUI servers, one or more hosts per project (docs/backends.md,
// ComfyUI).
import { defineBackendKind } from '../kind.ts';
import { createComfyuiBackend } from './adapter.ts';
import { comfyuiConfigSchema } from './config.ts';
import { comfyuiDetailsSchema } from './details.ts';

export const comfyuiKind = defineBackendKind({
  kind: 'comfyui',
  config: comfyuiConfigSchema,
  details: comfyuiDetailsSchema,
  pollIntervalSeconds: { default: 2, description: 'ComfyUI: a local server, read every 2 s by default.' },
  check(config, problem) {
    const hosts = new Set<string>();
    config.hosts.forEach((h, k) => {
      if (hosts.has(h.name)) problem(['hosts', k, 'name'], `host name "${h.name}" is used twice`);
      hosts.add(h.name);
    });
  },
  create: createComfyuiBackend,
  backendUrls: (config) => config.hosts.map((h) => h.url),
  withBackendUrls: (config, move) => ({ ...config, hosts: config.hosts.map((h) => ({ ...h, url: move(h.url) })) }),
  simulation: {
    // A current server (the jobs API) and one from before it.
    services: ['comfyui', 'comfyui_legacy'],
    basePath: '',
    async start(service, o) {
      const { startComfyuiSim } = await import('./simulation/server.ts');
      return startComfyuiSim({
        port: o.port,
        host: o.host,
        namespace: o.namespace,
        ...(o.clock ? { clock: o.clock } : {}),
        api: service === 'comfyui' ? 'jobs' : 'legacy',
        // Alternate what the hosts' one worker is busy with, so both kinds of running job exist.
        seedRunning: o.ordinal % 2 === 0 ? 'running' : 'long_running',
      });
    },
  },
});
