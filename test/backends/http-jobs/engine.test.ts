// The http_jobs engine over a scripted API: what a profile cannot change. An unmapped word is
// `unknown` (found) with the word kept; an answer without a status is BACKEND_REJECTED; an answer about
// another job is refused; a cancel reads before and after and says `cancelled` only when the API does;
// a finished job is never sent a cancel; a next page outside base_url is not followed; a profile
// without a list route says so; a word the status route cannot tell apart is confirmed on the result
// route; and the ready-made profiles are valid.
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpJobsBackend } from '../../../src/backends/http-jobs/engine.ts';
import { httpJobsConfigSchema } from '../../../src/backends/http-jobs/config.ts';
import { httpJobsDetailsSchema } from '../../../src/backends/http-jobs/details.ts';
import type * as z from 'zod';

/** A section as an operator writes it (defaults left out). */
type HttpJobsBackendConfig = z.input<typeof httpJobsConfigSchema>;
import { PROFILES, resolveProfile } from '../../../src/backends/http-jobs/profiles.ts';
import { startSimServer, type SimRequest, type SimResponse, type SimServer } from '../../../src/simulation/sim-server.ts';
import { createMemoryStore } from '../../../src/state/memory-store.ts';
import { ctx, errorCode } from '../../helpers/backend-calls.ts';
import { listQuery } from '../../helpers/list-calls.ts';

const servers: SimServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A scripted API: each request answered by `route`. */
async function api(route: (req: SimRequest) => SimResponse): Promise<SimServer> {
  const s = await startSimServer(route);
  servers.push(s);
  return s;
}

/** A small profile of a made-up job service, written out as an operator would. */
function section(baseUrl: string, over: Partial<HttpJobsBackendConfig> = {}): HttpJobsBackendConfig {
  return {
    kind: 'http_jobs',
    base_url: baseUrl,
    headers: { Authorization: 'Bearer secret-token-123' },
    status: {
      request: { method: 'GET', path: '/jobs/{id}' },
      fields: { id: '/job/id', status: '/job/state', error: '/job/error', details: { queue: '/job/queue' } },
      words: { pending: 'queued', active: 'running', done: 'succeeded', broken: 'failed', stopped: 'cancelled' },
      not_found: { http_status: [404] },
    },
    cancel: { request: { method: 'POST', path: '/jobs/{id}/stop' }, answers: [{ http_status: [409], means: 'not_cancellable' }] },
    list: {
      request: { method: 'GET', path: '/jobs' },
      items: '/items',
      paging: { style: 'next_url', next: '/next' },
      order: 'newest_first',
    },
    ...over,
  };
}

const adapter = (config: HttpJobsBackendConfig) =>
  createHttpJobsBackend(httpJobsConfigSchema.parse(config), {
    name: 'acme',
    projectReference: 'acme',
    timeoutMs: 2000,
    state: createMemoryStore(),
  });

describe('http_jobs engine', () => {
  it('maps the words of its profile, keeps an unmapped word as unknown (found), and refuses an answer without a status', async () => {
    let state = 'pending';
    const s = await api((req) =>
      req.path === '/api/jobs/j1' ? { status: 200, json: { job: { id: 'j1', state, queue: 'gpu' } } } : { status: 404, json: {} },
    );
    const b = adapter(section(`${s.url}/api`));
    expect(await b.getStatus('j1', ctx())).toMatchObject({
      found: true,
      status: 'queued',
      raw_status: 'pending',
      details: { queue: 'gpu' },
    });
    state = 'Hibernating';
    expect(await b.getStatus('j1', ctx())).toMatchObject({ found: true, status: 'unknown', raw_status: 'Hibernating' });
    expect(await b.getStatus('nope', ctx())).toMatchObject({ found: false, status: 'unknown' });
    s.setFault({ kind: 'status', status: 200, body: JSON.stringify({ job: { id: 'j1' } }) });
    expect(await errorCode(b.getStatus('j1', ctx()))).toBe('BACKEND_REJECTED');
    s.setFault({ kind: 'status', status: 200, body: JSON.stringify({ job: { id: 'j2', state: 'done' } }) });
    expect(await errorCode(b.getStatus('j1', ctx()))).toBe('BACKEND_UNAVAILABLE');
  });

  it('refuses an id its rule forbids before any request, and sends an allowed one as one path segment', async () => {
    const s = await api(() => ({ status: 404, json: {} }));
    const b = adapter(section(s.url, { job_id: { pattern: '[a-z0-9:]{1,20}', max_length: 20 } }));
    for (const id of ['../admin', 'a/b', 'UPPER', 'x'.repeat(21)]) expect(await errorCode(b.getStatus(id, ctx()))).toBe('INVALID_ARGUMENT');
    expect(s.requests).toHaveLength(0);
    await b.getStatus('a:b', ctx());
    expect(s.requests.map((r) => r.path)).toEqual(['/jobs/a%3Ab']);
  });

  it('cancels only a job that is not finished, and says cancelled only when the job reads cancelled', async () => {
    const jobs: Record<string, string> = { run: 'active', fin: 'done', slow: 'active', stuck: 'pending' };
    const s = await api((req) => {
      const id = req.path.split('/')[2]!;
      if (req.method === 'POST' && id === 'stuck') return { status: 409, json: { message: 'cannot stop now' } };
      if (req.method === 'POST') {
        if (id === 'run') jobs.run = 'stopped'; // stops at once; `slow` stops later
        return { status: 202, json: {} };
      }
      return jobs[id] ? { status: 200, json: { job: { id, state: jobs[id] } } } : { status: 404, json: {} };
    });
    const b = adapter(section(s.url));
    expect(await b.cancel('run', ctx())).toMatchObject({ outcome: 'cancelled', status_before: 'running', status_after: 'cancelled' });
    expect(await b.cancel('slow', ctx())).toMatchObject({ outcome: 'cancel_requested', status_after: 'running' });
    expect(await b.cancel('stuck', ctx())).toMatchObject({ outcome: 'not_cancellable', status_after: 'queued' });
    const posts = s.requests.filter((r) => r.method === 'POST').length;
    expect(await b.cancel('fin', ctx())).toMatchObject({ outcome: 'already_terminal', status_after: 'succeeded' });
    expect(await b.cancel('run', ctx())).toMatchObject({ outcome: 'already_terminal', status_after: 'cancelled' });
    expect(await b.cancel('ghost', ctx())).toMatchObject({ outcome: 'not_found' });
    expect(s.requests.filter((r) => r.method === 'POST').length).toBe(posts); // nothing sent for those
  });

  it('follows a next page below base_url, and refuses one anywhere else', async () => {
    let next: string | null = null;
    const s = await api((req) =>
      req.path === '/v1/jobs' && req.query.get('page') === '2'
        ? { status: 200, json: { items: [{ job: { id: 'old', state: 'done' } }], next: null } }
        : { status: 200, json: { items: [{ job: { id: 'new', state: 'active' } }], next } },
    );
    next = `${s.url}/v1/jobs?page=2`;
    const b = adapter(section(`${s.url}/v1`));
    const first = await b.list(listQuery({ limit: 1 }));
    expect(first.jobs.map((j) => j.job_id)).toEqual(['new']);
    const second = await b.list(listQuery({ limit: 1, position: first.next }));
    expect(second.jobs.map((j) => [j.job_id, j.status])).toEqual([['old', 'succeeded']]);
    expect(second.next).toBeUndefined();
    for (const elsewhere of ['http://evil.example/v1/jobs?page=2', `${s.url}/admin/jobs`]) {
      next = elsewhere;
      expect(await errorCode(b.list(listQuery()))).toBe('BACKEND_UNAVAILABLE');
    }
    // A cursor a caller made up is refused, whatever URL it names.
    expect(await errorCode(b.list(listQuery({ position: { page: { kind: 'url', url: 'http://evil.example/' }, skip: 0 } })))).toBe(
      'BACKEND_UNAVAILABLE',
    );
    expect(await errorCode(b.list(listQuery({ position: { kind: 'nonsense' } })))).toBe('INVALID_ARGUMENT');
  });

  it('says a backend without a list route cannot list', async () => {
    const s = await api(() => ({ status: 404, json: {} }));
    const { list: _list, ...withoutList } = section(s.url);
    const b = adapter(withoutList as HttpJobsBackendConfig);
    await expect(b.list(listQuery())).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/cannot list its jobs/),
    });
    expect(s.requests).toHaveLength(0);
  });

  it('confirms a word the status route cannot tell apart on the result route (fal): succeeded, failed or cancelled, never guessed', async () => {
    const results: Record<string, SimResponse> = {
      '11111111-1111-4111-8111-111111111111': { status: 200, json: { images: [] } },
      '22222222-2222-4222-8222-222222222222': {
        status: 422,
        json: { detail: [{ loc: ['body'], msg: 'NSFW content detected', type: 'content_policy_violation' }] },
      },
      '33333333-3333-4333-8333-333333333333': { status: 500, text: 'boom' },
      '44444444-4444-4444-8444-444444444444': { status: 400, json: { detail: 'Request cancelled' } },
    };
    const s = await api((req) => {
      const [, , , , id, last] = req.path.split('/');
      if (last === 'status') return { status: 200, json: { status: 'COMPLETED' } };
      return results[id!] ?? { status: 404, json: {} };
    });
    const b = adapter({ kind: 'http_jobs', profile: 'fal', base_url: `${s.url}/fal-ai/flux`, headers: { Authorization: 'Key k' } });
    const [ok, bad, down, cancelled] = Object.keys(results);
    expect(await b.getStatus(ok!, ctx())).toMatchObject({ status: 'succeeded', raw_status: 'COMPLETED' });
    expect(await b.getStatus(bad!, ctx())).toMatchObject({
      status: 'failed',
      raw_status: 'COMPLETED',
      error: { message: 'NSFW content detected' },
    });
    expect(await errorCode(b.getStatus(down!, ctx()))).toBe('BACKEND_UNAVAILABLE');
    expect(await b.getStatus(cancelled!, ctx())).toMatchObject({ status: 'cancelled', raw_status: 'COMPLETED' });
  });

  it('reads an internal job service written out with the envelope, rule and paging keys the built-in kinds use', async () => {
    // A made-up company service: jobs in a {data, meta} envelope, 403 for another team's job, 409 for
    // a finished one, 423 while a job is being scheduled, page-number listing with a total and a status filter.
    const jobs = [
      { id: 'j3', phase: 'SCHEDULING', team: 'a' },
      { id: 'j2', phase: 'RUNNING', team: 'a' },
      { id: 'j1', phase: 'DONE', team: 'a' },
      { id: 'x9', phase: 'RUNNING', team: 'b' },
    ];
    const s = await api((req) => {
      const [, , , id, action] = req.path.split('/');
      const job = jobs.find((j) => j.id === id);
      if (id === undefined) {
        const wanted = req.query.get('phase');
        const mine = jobs.filter((j) => j.team === 'a' && (wanted === null || j.phase === wanted));
        const page = Number(req.query.get('p'));
        const size = Number(req.query.get('n'));
        const data = mine.slice(page * size, (page + 1) * size).map((j) => ({ job_id: j.id, phase: j.phase }));
        return { status: 200, json: { data, meta: { count: mine.length } } };
      }
      if (job?.team === 'b') return { status: 403, json: { message: 'Job is owned by another team' } };
      if (!job) return { status: 404, json: {} };
      if (req.method === 'DELETE') {
        if (job.phase === 'DONE') return { status: 409, json: {} };
        if (job.phase === 'SCHEDULING') return { status: 423, json: {} };
        job.phase = 'STOPPED';
        return { status: 200, json: { meta: { job: id } } };
      }
      return action === undefined
        ? {
            status: 200,
            json: { data: { job_id: job.id, phase: job.phase, labels: ['gpu', 7, 'nightly'], runs: [{}, {}] }, meta: { job: job.id } },
          }
        : { status: 404 };
    });
    const b = adapter({
      kind: 'http_jobs',
      base_url: `${s.url}/api`,
      headers: { 'X-Api-Key': 'k' },
      job_noun: 'batch job',
      status: {
        request: { path: '/jobs/{id}' },
        record: ['/data'],
        answer_ids: ['/meta/job'],
        fields: {
          id: '/job_id',
          status: ['/state', '/phase'],
          details: { labels: { at: '/labels', as: 'tags' }, runs: { at: '/runs', as: 'count' } },
        },
        words: { scheduling: 'queued', running: 'running', done: 'succeeded', stopped: 'cancelled' },
        not_found: { answers: [{ http_status: [403], field: '/message', matches: 'another team' }] },
      },
      cancel: {
        request: { method: 'DELETE', path: '/jobs/{id}' },
        reason_field: 'why',
        answers: [{ http_status: ['4xx'], means: 'already_terminal' }],
        refused_while: ['SCHEDULING'],
      },
      list: {
        request: { path: '/jobs' },
        items: '/data',
        paging: { style: 'page', page_param: 'p', per_page_param: 'n', per_page: 2, first_page: 0, total: '/meta/count' },
        status_filter: { param: 'phase', words: { running: ['RUNNING'], succeeded: ['DONE'] } },
      },
    } as HttpJobsBackendConfig);
    const j2 = await b.getStatus('j2', ctx());
    expect(j2).toMatchObject({
      found: true,
      status: 'running',
      raw_status: 'RUNNING',
      details: { labels: ['gpu', '7', 'nightly'], runs: 2 },
    });
    expect(httpJobsDetailsSchema.safeParse(j2.details).success).toBe(true); // what the tools' output schema says of http_jobs details
    expect(await b.getStatus('x9', ctx())).toMatchObject({ found: false }); // another team's: not found, not an auth error
    expect(await b.cancel('j3', ctx())).toMatchObject({ outcome: 'not_cancellable', status_after: 'queued' });
    expect(await b.cancel('j2', { ...ctx(), reason: 'superseded' })).toMatchObject({ outcome: 'cancelled', status_after: 'cancelled' });
    expect(s.requests.find((r) => r.method === 'DELETE' && r.path === '/api/jobs/j2')?.body).toBe('{"why":"superseded"}');
    expect(await b.cancel('j1', ctx())).toMatchObject({
      outcome: 'already_terminal',
      message: expect.stringMatching(/^batch job j1 had already finished/),
    });
    const all = await b.list(listQuery({ limit: 2 }));
    expect(all.jobs.map((j) => j.job_id)).toEqual(['j3', 'j2']);
    const rest = await b.list(listQuery({ limit: 2, position: JSON.parse(JSON.stringify(all.next)) }));
    expect([rest.jobs.map((j) => j.job_id), rest.next]).toEqual([['j1'], undefined]);
    expect((await b.list(listQuery({ statuses: ['succeeded'] }))).jobs.map((j) => j.job_id)).toEqual(['j1']);
    expect(s.requests.at(-1)?.query.get('phase')).toBe('DONE'); // one word selects it: the API filters
    // A "4xx" rule never holds a credential problem.
    s.setFault({ kind: 'status', status: 403, body: '{"message":"bad key"}' }, (req) => req.method === 'DELETE');
    expect(await errorCode(b.cancel('j3', ctx()))).toBe('BACKEND_AUTH');
  });

  it('ships valid ready-made profiles, and a section replaces a profile part whole', () => {
    for (const name of Object.keys(PROFILES) as (keyof typeof PROFILES)[]) expect(() => resolveProfile({ profile: name })).not.toThrow();
    const own = resolveProfile({
      profile: 'replicate',
      status: { request: { path: '/x/{id}' }, fields: { status: '/s' }, words: { a: 'queued' } },
    });
    expect(own.status.words).toEqual({ a: 'queued' });
    expect(own.cancel.request.path).toBe('/predictions/{id}/cancel');
  });
});
