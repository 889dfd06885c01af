// The ComfyUI simulation tests' setup: a simulation on a manual clock (closed after each test), and
// raw HTTP calls to it.
import { afterEach } from 'vitest';
import { request } from 'undici';
import { ManualClock } from '../../src/simulation/clock.ts';
import { startComfyuiSim, type ComfyuiSim, type ComfyuiSimOptions, type QueueItem } from '../../src/backends/comfyui/simulation/server.ts';

const sims: ComfyuiSim[] = [];

/** Call at the top of a test file: closes every simulation after each test. */
export function closeSimsAfterEach(): void {
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((s) => s.close()));
  });
}

export async function start(
  options: Partial<ComfyuiSimOptions> & { api: 'jobs' | 'legacy' },
): Promise<{ sim: ComfyuiSim; clock: ManualClock }> {
  const clock = options.clock instanceof ManualClock ? options.clock : new ManualClock();
  const sim = await startComfyuiSim({ ...options, clock });
  sims.push(sim);
  return { sim, clock };
}

export interface Answer {
  status: number;
  type: string | undefined;
  text: string;
  json: any;
}

/** One HTTP call; `path` is sent as written (already percent-encoded where it needs to be). */
export async function call(
  sim: ComfyuiSim,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await request(sim.server.url + path, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const type = res.headers['content-type'];
  return { status: res.statusCode, type: Array.isArray(type) ? type[0] : type, text, json };
}

export const ids = (items: QueueItem[]) => items.map((i) => i[1]);
