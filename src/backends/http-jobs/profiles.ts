// Ready-made profiles of public job APIs, written from their public documentation (docs/backends.md
// has each one's routes and traps), each simulated in the sandbox from the same documentation. A
// project names one (`profile: replicate`) and gives its base URL and credential headers; a part it
// writes out itself replaces the profile's part of that name.
import { profileSchema, type Profile, type ProfileInput } from './profile.ts';

/** Replicate predictions (https://replicate.com/docs/reference/http): base URL https://api.replicate.com/v1. */
const replicate: ProfileInput = {
  job_noun: 'prediction',
  // Prediction ids are lowercase letters and digits (e.g. gm3qorzdhgbfurvjtvhg6dckhu).
  job_id: { pattern: '[a-z0-9]{1,64}', max_length: 64, hint: 'is a Replicate prediction id: lowercase letters and digits' },
  status: {
    request: { path: '/predictions/{id}' },
    fields: {
      id: '/id',
      status: '/status',
      created_at: '/created_at',
      started_at: '/started_at',
      completed_at: '/completed_at',
      error: '/error',
      details: { model: '/model', version: '/version', predict_time: '/metrics/predict_time' },
    },
    words: { starting: 'queued', processing: 'running', succeeded: 'succeeded', failed: 'failed', canceled: 'cancelled' },
  },
  // The cancel answers the prediction; the stop itself takes a moment, so the engine's read after it says.
  cancel: { request: { method: 'POST', path: '/predictions/{id}/cancel' } },
  list: { request: { path: '/predictions' }, items: '/results', paging: { style: 'next_url', next: '/next' } },
};

/**
 * fal's queue (https://docs.fal.ai/model-apis/model-endpoints/queue): base URL
 * https://queue.fal.run/{owner}/{app}. Its status route says COMPLETED for a request that failed
 * too; only the result route tells, so COMPLETED is confirmed there. It has no list route.
 */
const fal: ProfileInput = {
  job_noun: 'request',
  job_id: {
    pattern: '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
    max_length: 36,
    hint: 'is a fal request id, a lowercase UUID',
  },
  status: {
    request: { path: '/requests/{id}/status' },
    fields: { status: '/status', queue_position: '/queue_position' },
    words: { IN_QUEUE: 'queued', IN_PROGRESS: 'running', COMPLETED: 'succeeded' },
    // The result route answers 200 with the result, fal's error (422, `detail` a list of errors) for a
    // request that failed, and 400 for one that was cancelled.
    confirm: {
      words: ['COMPLETED'],
      request: { path: '/requests/{id}' },
      answers: [
        { http_status: [200], means: 'succeeded' },
        { http_status: [400], field: '/detail', words: ['Request cancelled'], means: 'cancelled' },
      ],
      error: '/detail/0/msg',
    },
  },
  cancel: {
    request: { method: 'PUT', path: '/requests/{id}/cancel' },
    answers: [
      { http_status: [200, 202], field: '/status', words: ['CANCELLATION_REQUESTED'], means: 'requested' },
      { http_status: [400], field: '/status', words: ['ALREADY_COMPLETED'], means: 'already_terminal' },
      { http_status: [404], field: '/status', words: ['NOT_FOUND'], means: 'not_found' },
    ],
  },
};

/** RunPod serverless (https://docs.runpod.io/serverless/endpoints/job-operations): base URL https://api.runpod.ai/v2/{endpoint_id}. No list route. */
const runpod: ProfileInput = {
  job_id: { pattern: '[A-Za-z0-9][A-Za-z0-9-]{0,127}', max_length: 128, hint: 'is a RunPod job id: letters, digits and "-"' },
  status: {
    request: { path: '/status/{id}' },
    fields: {
      id: '/id',
      status: '/status',
      error: '/error',
      details: { delay_time_ms: '/delayTime', execution_time_ms: '/executionTime' },
    },
    words: {
      IN_QUEUE: 'queued',
      IN_PROGRESS: 'running',
      COMPLETED: 'succeeded',
      FAILED: 'failed',
      CANCELLED: 'cancelled',
      TIMED_OUT: 'failed',
    },
  },
  cancel: { request: { method: 'POST', path: '/cancel/{id}' } },
};

export const PROFILES = { replicate, fal, runpod } as const satisfies Record<string, ProfileInput>;
export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as [ProfileName, ...ProfileName[]];

/** The profile a project's section describes: its ready-made profile, with the parts it writes out in place of the profile's. */
export function resolveProfile(section: {
  profile?: ProfileName | undefined;
  job_noun?: string | undefined;
  job_id?: ProfileInput['job_id'];
  status?: ProfileInput['status'] | undefined;
  cancel?: ProfileInput['cancel'] | undefined;
  list?: ProfileInput['list'];
  rate_limit?: ProfileInput['rate_limit'];
}): Profile {
  const base: Partial<ProfileInput> = section.profile ? PROFILES[section.profile] : {};
  const own = Object.fromEntries(
    (['job_noun', 'job_id', 'status', 'cancel', 'list', 'rate_limit'] as const)
      .filter((k) => section[k] !== undefined)
      .map((k) => [k, section[k]]),
  );
  return profileSchema.parse({ ...base, ...own });
}
