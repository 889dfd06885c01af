// Starts the simulated backends a config's `sandbox:` section names, each on the loopback port the
// projects point at. With `ephemeralPorts`, each runs on a free port instead and the returned config
// points there: tests use the real sandbox.yaml without fighting over ports.
// Each kind's simulation, and which URLs of a backend section to look at, come from the backend registry.
import type { Config, ProjectConfig } from '../config/schema.ts';
import type { Clock } from '../simulation/clock.ts';
import { SEED_STATES, type SeedState } from '../simulation/simulation.ts';
import { backendUrls, sandboxService, type BackendKind, type SandboxSimulation } from '../backends/registry.ts';
import { startSandboxIssuer, type AuthorizationServerSettings, type SandboxIssuer } from './issuer.ts';
import { rebaseConfig } from './ports.ts';

export interface Sandbox {
  /** The config to run the gateway on (URLs rewritten when ports were ephemeral). */
  config: Config;
  simulations: readonly SandboxSimulation[];
  /** The sandbox's token issuer, when the config's sandbox section starts one. */
  issuer: SandboxIssuer | undefined;
  /** Seeded job ids per project reference, by starting state. */
  seedsByProject: ReadonlyMap<string, Record<SeedState, string[]>>;
  close(): Promise<void>;
}

export interface SandboxOptions {
  clock?: Clock;
  ephemeralPorts?: boolean;
  /** Where the issuer keeps its key and registrations across restarts (src/sandbox/state.ts); default: memory only. */
  stateDir?: string;
}

export async function startSandbox(config: Config, options: SandboxOptions = {}): Promise<Sandbox> {
  const services = config.sandbox?.services ?? [];
  const simulations: SandboxSimulation[] = [];
  const portMap = new Map<number, number>();
  const simByPort = new Map<number, SandboxSimulation>();
  // How many services of each kind were started: a kind's simulation may tell its services apart by it.
  const started = new Map<BackendKind, number>();
  let issuer: SandboxIssuer | undefined;
  try {
    for (const [index, service] of services.entries()) {
      if (service.kind === 'issuer') {
        const authorizationServer = authorizationServerSettings(config);
        issuer = await startSandboxIssuer({
          port: options.ephemeralPorts ? 0 : service.port,
          host: '127.0.0.1',
          ...(authorizationServer ? { authorizationServer } : {}),
          ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
        });
        portMap.set(service.port, issuer.server.port);
        continue;
      }
      const simulated = sandboxService(service.kind);
      const ordinal = started.get(simulated.kind) ?? 0;
      started.set(simulated.kind, ordinal + 1);
      const sim = await simulated.start({
        port: options.ephemeralPorts ? 0 : service.port,
        host: '127.0.0.1',
        // Seeded ids follow the service's place in the list, not its port: moving ports keeps the ids.
        namespace: `${service.kind}:${index}`,
        clock: options.clock,
        ordinal,
        projects: config.projects.filter((p) => backendPorts(p).includes(service.port)),
      });
      simulations.push(sim);
      portMap.set(service.port, sim.server.port);
      simByPort.set(service.port, sim);
    }
  } catch (e) {
    await Promise.allSettled([...simulations.map((s) => s.close()), issuer?.close()]);
    throw e;
  }

  const rebased: Config = options.ephemeralPorts ? rebaseConfig(config, portMap) : config;
  const seedsByProject = new Map<string, Record<SeedState, string[]>>();
  for (const p of config.projects) {
    const seeds = Object.fromEntries(SEED_STATES.map((s) => [s, [] as string[]])) as Record<SeedState, string[]>;
    for (const port of backendPorts(p)) {
      const sim = simByPort.get(port);
      if (sim) for (const s of SEED_STATES) seeds[s].push(...sim.seeds[s]);
    }
    seedsByProject.set(p.reference, seeds);
  }
  return {
    config: rebased,
    simulations,
    issuer,
    seedsByProject,
    async close() {
      await Promise.allSettled([...simulations.map((s) => s.close()), issuer?.close()]);
    },
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * What the issuer's authorization server issues tokens for: this sandbox's gateway, named by its
 * public_url or by any loopback URL of its MCP path (the port is not known yet: --port, PORT, or a
 * free one in tests). Tokens get the config's audience when it sets one, else the URL asked for,
 * which is what the gateway checks `aud` against (its own URL).
 */
function authorizationServerSettings(config: Config): AuthorizationServerSettings | undefined {
  if (config.auth.mode !== 'oauth') return undefined;
  const configured = config.auth.audience === undefined ? undefined : [config.auth.audience].flat()[0];
  const { path, public_url: publicUrl } = config.server;
  const isGateway = (indicator: string) => {
    if (indicator === publicUrl) return true;
    const u = URL.parse(indicator);
    return (
      u !== null &&
      u.protocol === 'http:' &&
      LOOPBACK_HOSTS.has(u.hostname) &&
      u.pathname === path &&
      u.search === '' &&
      u.hash === '' &&
      u.username === '' &&
      u.password === ''
    );
  };
  return {
    scopes: [config.auth.scopes.read, config.auth.scopes.cancel],
    audienceFor: (indicator) => (isGateway(indicator) ? (configured ?? indicator) : undefined),
  };
}

/** Loopback ports a project's backend URLs point at. */
function backendPorts(p: ProjectConfig): number[] {
  return backendUrls(p.backend)
    .map((u) => new URL(u))
    .filter((u) => u.hostname === '127.0.0.1' || u.hostname === 'localhost')
    .map((u) => Number(u.port));
}
