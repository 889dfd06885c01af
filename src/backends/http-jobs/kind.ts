// The http_jobs kind: any HTTP job API, described by a profile (profile.ts), ready-made for
// Replicate, fal's queue and RunPod serverless (profiles.ts), or written out in the config
// (docs/add-your-job-api.md). The sandbox simulates each ready-made profile's API.
import { defineBackendKind, type ConfigProblemReporter } from '../kind.ts';
import { httpJobsConfigSchema, type HttpJobsBackendConfig } from './config.ts';
import { httpJobsDetailsSchema } from './details.ts';
import { createHttpJobsBackend } from './engine.ts';
import { resolveProfile } from './profiles.ts';
import type { Profile } from './profile.ts';

/** The sandbox's made-up credential for each simulated API. */
const SANDBOX_CREDENTIAL = 'sandbox-http-jobs-key';

/** The credential a section sends (its Authorization header without the scheme), for a simulation to accept. */
function credentialOf(b: HttpJobsBackendConfig | undefined): string | undefined {
  const auth = Object.entries(b?.headers ?? {}).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  return auth?.replace(/^\S+\s+/, '');
}

export const httpJobsKind = defineBackendKind({
  kind: 'http_jobs',
  config: httpJobsConfigSchema,
  details: httpJobsDetailsSchema,
  pollIntervalSeconds: { default: 3, description: 'Any HTTP job API (http_jobs profiles).' },
  check(config, problem: ConfigProblemReporter) {
    if (!config.profile && (!config.status || !config.cancel)) {
      problem([], 'an http_jobs backend names a ready-made `profile`, or writes out at least `status` and `cancel`');
      return;
    }
    checkProfile(resolveProfile(config), problem);
  },
  create: createHttpJobsBackend,
  backendUrls: (config) => [config.base_url],
  withBackendUrls: (config, move) => ({ ...config, base_url: move(config.base_url) }),
  simulation: {
    services: ['replicate', 'fal', 'runpod'],
    defaultCredential: SANDBOX_CREDENTIAL,
    basePath: '',
    async start(service, o) {
      const b = o.projects[0]?.backend;
      const credential = o.standalone?.credential ?? credentialOf(b) ?? SANDBOX_CREDENTIAL;
      const common = { port: o.port, host: o.host, namespace: o.namespace, ...(o.clock ? { clock: o.clock } : {}) };
      if (service === 'replicate') {
        const { startReplicateSim } = await import('./simulation/replicate.ts');
        return startReplicateSim({ ...common, token: credential });
      }
      if (service === 'fal') {
        const { startFalSim } = await import('./simulation/fal.ts');
        const app = b ? new URL(b.base_url).pathname.replace(/^\/+|\/+$/g, '') : undefined;
        return startFalSim({ ...common, key: credential, ...(app ? { app } : {}) });
      }
      const { startRunpodSim } = await import('./simulation/runpod.ts');
      const endpointId = b ? new URL(b.base_url).pathname.split('/').filter(Boolean)[1] : undefined;
      return startRunpodSim({ ...common, apiKey: credential, ...(endpointId ? { endpointId } : {}) });
    },
  },
});

/**
 * What a profile's schema cannot see: a word mapped twice, a pattern that does not compile, a rule
 * testing no field, a request about the wrong job. Run on every http_jobs section (--check-config),
 * and by the tests on every built-in profile.
 */
export function checkProfile(profile: Profile, problem: ConfigProblemReporter): void {
  const seen = new Map<string, string>();
  for (const word of Object.keys(profile.status.words)) {
    const folded = word.toLowerCase();
    if (seen.has(folded))
      problem(
        ['status', 'words', word],
        `the status word "${word}" is mapped twice (words compare without case; "${seen.get(folded)}" maps it too)`,
      );
    seen.set(folded, word);
  }
  const regex = (path: (string | number)[], source: string | undefined) => {
    if (source === undefined) return;
    try {
      new RegExp(source);
    } catch {
      problem(path, 'not a valid regular expression');
    }
  };
  regex(['job_id', 'pattern'], profile.job_id?.pattern);
  profile.status.not_found.answers.forEach((r, i) => regex(['status', 'not_found', 'answers', i, 'matches'], r.matches));
  profile.status.confirm?.answers.forEach((r, i) => regex(['status', 'confirm', 'answers', i, 'matches'], r.matches));
  profile.cancel.answers.forEach((r, i) => regex(['cancel', 'answers', i, 'matches'], r.matches));
  for (const word of profile.cancel.refused_while)
    if (!seen.has(word.toLowerCase()))
      problem(['cancel', 'refused_while'], `"${word}" is not one of status.words: a job can never be in it`);
  for (const [where, rules] of [
    ['status.not_found.answers', profile.status.not_found.answers],
    ['cancel.answers', profile.cancel.answers],
    ['status.confirm.answers', profile.status.confirm?.answers ?? []],
  ] as const) {
    rules.forEach((r, i) => {
      if (r.field === undefined && (r.words !== undefined || r.matches !== undefined))
        problem([...where.split('.'), i], '`words` and `matches` test a `field`: name the field');
    });
  }
  for (const [where, request] of [
    ['status', profile.status.request],
    ['cancel', profile.cancel.request],
    ...(profile.status.confirm ? [['status.confirm', profile.status.confirm.request] as const] : []),
  ] as const) {
    if (!request.path.includes('{id}'))
      problem([...where.split('.'), 'request', 'path'], 'names no {id} segment: the request would not be about the job asked for');
  }
  if (profile.status.not_found.probe?.request.path.includes('{id}'))
    problem(['status', 'not_found', 'probe', 'request', 'path'], 'a probe is about no job: it has no {id} segment');
  if (profile.list?.request.path.includes('{id}'))
    problem(['list', 'request', 'path'], 'a list request is about no job: it has no {id} segment');
}
