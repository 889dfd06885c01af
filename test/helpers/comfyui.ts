// The ComfyUI adapter tests' setup: simulated hosts on a manual clock and adapters over them, all
// closed after each test.
import { afterEach } from 'vitest';
import { createComfyuiBackend } from '../../src/backends/comfyui/adapter.ts';
import type { ComfyuiBackendConfig } from '../../src/backends/comfyui/config.ts';
import type { JobBackend } from '../../src/jobs/backend.ts';
import { ManualClock } from '../../src/simulation/clock.ts';
import { createMemoryStore } from '../../src/state/memory-store.ts';
import type { StateStore } from '../../src/state/store.ts';
import { startComfyuiSim, type ComfyuiSim, type ComfyuiSimOptions } from '../../src/backends/comfyui/simulation/server.ts';
import type { SimRequest } from '../../src/simulation/sim-server.ts';
import { freePort } from '../../scripts/tools/ports.ts';

export const UNKNOWN = '00000000-0000-4000-8000-000000000000';

const closers: Array<() => Promise<unknown>> = [];

/** Call at the top of a test file: closes every simulation and adapter after each test. */
export function closeComfyuiAfterEach(): void {
  afterEach(async () => {
    await Promise.allSettled(closers.splice(0).map((c) => c()));
  });
}

export async function sim(clock: ManualClock, options: Partial<ComfyuiSimOptions> & { api: 'jobs' | 'legacy' }): Promise<ComfyuiSim> {
  const s = await startComfyuiSim({ clock, ...options });
  closers.push(() => s.close());
  return s;
}

export function adapter(
  clock: ManualClock,
  hosts: ComfyuiBackendConfig['hosts'],
  api: 'auto' | 'jobs' | 'legacy' = 'auto',
  timeoutMs = 3000,
  /** What the adapter remembers (tombstones, job → host); adapters given one store act as replicas sharing it. */
  state: StateStore = createMemoryStore(),
): JobBackend {
  const config: ComfyuiBackendConfig = { kind: 'comfyui', hosts, api };
  const b = createComfyuiBackend(config, {
    name: 'studio',
    projectReference: 'studio',
    timeoutMs,
    now: () => clock.now(),
    state,
  });
  closers.push(() => b.close!());
  return b;
}

/** A loopback URL nobody listens on. */
export async function closedUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

/** One simulated host ("gpu1") and an adapter over it. */
export async function oneHost(
  api: 'jobs' | 'legacy',
  opts: Partial<ComfyuiSimOptions> = {},
  adapterApi: 'auto' | 'jobs' | 'legacy' = 'auto',
) {
  const clock = new ManualClock();
  const s = await sim(clock, { api, ...opts });
  const b = adapter(clock, [{ name: 'gpu1', url: s.server.url }], adapterApi);
  return { clock, sim: s, backend: b };
}

export const interrupts = (reqs: SimRequest[]) => reqs.filter((r) => /\/interrupt$/.test(r.path));
