// The jobs a simulated host starts with: one finished job per terminal state (already in history),
// the one running job (one worker per host) and four queued behind it, the last submitted with
// front:true so the heap array is not sorted. A legacy host also holds a finished job under a
// client-chosen id that is not a UUID, as only servers from before the prompt-id check accept.
import { SEED_STATES, seededUuid, type SeedState } from '../../../simulation/simulation.ts';
import { defaultGraph } from './graph.ts';
import { DEFAULT_ERROR_MESSAGE, DEFAULT_ERROR_TYPE, type PromptQueue, type RunEnd } from './prompt-queue.ts';
import type { Task } from './types.ts';

const MIN = 60_000;

export function seedJobs(
  queue: PromptQueue,
  namespace: string,
  options: { enabled: boolean; runningKind: 'running' | 'long_running' },
): Record<SeedState, string[]> {
  const seeds = Object.fromEntries(SEED_STATES.map((s) => [s, [] as string[]])) as Record<SeedState, string[]>;
  if (!options.enabled) return seeds;
  const t0 = queue.clock.now();
  const extraAt = (created: number): Record<string, unknown> => ({
    client_id: 'sandbox',
    ...(queue.api === 'jobs' ? { create_time: created } : {}),
  });
  const task = (
    number: number,
    id: string,
    seed: number,
    created: number,
    durationMs: number,
    how: 'success' | 'error' = 'success',
  ): Task => ({
    item: [number, id, defaultGraph(seed), extraAt(created), ['9']],
    durationMs,
    ending: how,
    errorNode: undefined,
    errorMessage: how === 'error' ? DEFAULT_ERROR_MESSAGE : '',
    errorType: how === 'error' ? DEFAULT_ERROR_TYPE : '',
    enqueuedAt: created,
  });

  // On a legacy host, first of all: a job a client submitted as "render-<tag>".
  const clientChosen = queue.api === 'legacy' ? `render-${seededUuid(namespace, 0).slice(0, 5)}` : undefined;
  if (clientChosen) {
    const created = t0 - 50 * MIN;
    queue.addFinished(
      task(queue.nextNumber(), clientChosen, 999, created, 4 * MIN),
      created + 30_000,
      created + 30_000 + 4 * MIN,
      'success',
    );
  }
  // Terminal jobs, already in history: each ran in turn earlier.
  const done: Array<{ state: SeedState; how: RunEnd }> = [
    { state: 'succeeded', how: 'success' },
    { state: 'failed', how: 'error' },
    { state: 'cancelled', how: 'interrupted' },
  ];
  let n = 1;
  done.forEach((d, i) => {
    const id = seededUuid(namespace, n++);
    const created = t0 - (40 - i * 10) * MIN;
    const t = task(queue.nextNumber(), id, 1000 + i, created, 4 * MIN, d.how === 'error' ? 'error' : 'success');
    const startedAt = created + 30_000;
    queue.addFinished(t, startedAt, d.how === 'interrupted' ? startedAt + 90_000 : startedAt + t.durationMs, d.how);
    seeds[d.state].push(id);
  });
  if (clientChosen) seeds.succeeded.push(clientChosen); // after the UUID one: seeds.succeeded[0] stays a UUID

  const longRunning = options.runningKind === 'long_running';
  const runId = seededUuid(namespace, n++);
  const runCreated = t0 - (longRunning ? 5 : 1) * MIN;
  queue.setRunning(task(queue.nextNumber(), runId, 2000, runCreated, longRunning ? 6 * 60 * MIN : 10 * MIN), runCreated);
  seeds[options.runningKind].push(runId);

  for (let i = 0; i < 4; i++) {
    const id = seededUuid(namespace, n++);
    const created = t0 - (4 - i) * 10_000;
    queue.addPending(task(queue.nextNumber(i === 3), id, 3000 + i, created, 10 * MIN));
    seeds.queued.push(id);
  }
  return seeds;
}
