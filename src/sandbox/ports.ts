// The sandbox's ports as one movable block: `--port-offset N` shifts every port a sandbox config
// names (the MCP and admin listeners, the issuer, each simulated backend) and the loopback URLs that
// point at them, so a second sandbox, or one beside something on 8080 or 9090, needs no edited copy.
// And, for a port that is taken, which setting of the config owns it.
import type { Config } from '../config/schema.ts';
import { withBackendUrls } from '../backends/registry.ts';

export class PortOffsetError extends Error {}

/** The config with every sandbox port moved by `offset`; a port of 0 (any free one) stays 0. */
export function offsetSandboxPorts(config: Config, offset: number): Config {
  if (!config.sandbox)
    throw new PortOffsetError('--port-offset moves the ports of a sandbox config, and this config has no sandbox: section');
  const move = (port: number, setting: string) => {
    if (port === 0) return 0;
    const to = port + offset;
    if (to < 1 || to > 65_535) throw new PortOffsetError(`--port-offset ${offset} moves ${setting} from ${port} to ${to}, outside 1–65535`);
    return to;
  };
  const services = config.sandbox.services.map((s, i) => ({ ...s, port: move(s.port, `sandbox.services[${i}] (${s.kind})`) }));
  const ports = new Map(config.sandbox.services.map((s, i) => [s.port, services[i]!.port]));
  return {
    ...rebaseConfig(config, ports),
    server: { ...config.server, port: move(config.server.port, 'server.port') },
    admin: { ...config.admin, port: config.admin.enabled ? move(config.admin.port, 'admin.port') : config.admin.port },
    sandbox: { ...config.sandbox, services },
  };
}

/** The config with the loopback URLs of the issuer and the backends moved from port to port (`ports`: from → to). */
export function rebaseConfig(config: Config, ports: ReadonlyMap<number, number>): Config {
  const move = (u: string) => {
    const url = new URL(u);
    const to = ports.get(Number(url.port));
    if (to === undefined || !LOOPBACK_HOSTS.has(url.hostname)) return u;
    url.port = String(to);
    return url.toString().replace(/\/$/, '');
  };
  const auth =
    config.auth.mode === 'oauth'
      ? {
          ...config.auth,
          issuers: config.auth.issuers.map((i) => ({
            ...i,
            issuer: move(i.issuer),
            ...(i.jwks_uri ? { jwks_uri: move(i.jwks_uri) } : {}),
          })),
        }
      : config.auth;
  return { ...config, auth, projects: config.projects.map((p) => ({ ...p, backend: withBackendUrls(p.backend, move) })) };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The settings of a config that name `port` (server.port, admin.port, sandbox.services[i] (kind)). */
export function portSettings(config: Config, port: number): string[] {
  const owners: string[] = [];
  if (config.server.port === port) owners.push('server.port');
  if (config.admin.enabled && config.admin.port === port) owners.push('admin.port');
  for (const [i, s] of (config.sandbox?.services ?? []).entries()) if (s.port === port) owners.push(`sandbox.services[${i}] (${s.kind})`);
  return owners;
}
