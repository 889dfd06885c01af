// A profile that is wrong is caught when the config loads (and by --check-config), each problem
// named by its path: a pointer that is not one, a word mapped twice, a request without {id}, a
// profile that is neither ready-made nor written out. A ready-made profile needs only its name.
import { describe, expect, it } from 'vitest';
import { configProblems } from '../../helpers/config-problems.ts';
import { AGENT_JOBS_PROFILE } from '../../../src/backends/agent-jobs/profile.ts';
import { comfycontrolProfile } from '../../../src/backends/comfycontrol/profile.ts';
import { checkProfile } from '../../../src/backends/http-jobs/kind.ts';
import { PROFILE_NAMES, resolveProfile } from '../../../src/backends/http-jobs/profiles.ts';
import { projectRuntimeProfile } from '../../../src/backends/project-runtime/profile.ts';
import type { Profile } from '../../../src/backends/http-jobs/profile.ts';

/** The problems of a config whose one project has this backend section. */
const problemsOf = (backend: string) =>
  configProblems(`
auth: { mode: none }
projects:
  - reference: jobs
    backend: ${backend}
`);

const own = (status: string, cancel = `{ request: { method: POST, path: "/jobs/{id}/cancel" } }`) =>
  `{ kind: http_jobs, base_url: "https://jobs.example.com/api", status: ${status}, cancel: ${cancel} }`;

describe('http_jobs config', () => {
  it('takes a ready-made profile with its base URL and credential header only', () => {
    expect(
      problemsOf(
        `{ kind: http_jobs, profile: replicate, base_url: "https://api.replicate.com/v1", headers: { Authorization: "Bearer x" } }`,
      ),
    ).toEqual([]);
  });

  it('names each problem of a written-out profile by its path', () => {
    const status = `{ request: { path: "/jobs/{id}" }, fields: { status: "state", id: "/id" }, words: { done: succeeded, DONE: failed, x: nonsense } }`;
    const problems = problemsOf(own(status));
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['projects.0.backend.status.fields.status', 'projects.0.backend.status.words.x']),
    );
    expect(problems.find((p) => p.path === 'projects.0.backend.status.fields.status')?.message).toMatch(/JSON Pointer/);
  });

  it('names a word mapped twice, a request without {id}, and a profile with neither a name nor status and cancel', () => {
    const twice = problemsOf(
      own(`{ request: { path: "/jobs/{id}" }, fields: { status: /state }, words: { done: succeeded, DONE: failed } }`),
    );
    expect(twice).toEqual([{ path: 'projects.0.backend.status.words.DONE', message: expect.stringMatching(/mapped twice/) }]);
    const noId = problemsOf(own(`{ request: { path: "/jobs" }, fields: { status: /state }, words: { done: succeeded } }`));
    expect(noId).toEqual([{ path: 'projects.0.backend.status.request.path', message: expect.stringMatching(/\{id\}/) }]);
    const nothing = problemsOf(`{ kind: http_jobs, base_url: "https://jobs.example.com/api" }`);
    expect(nothing).toEqual([{ path: 'projects.0.backend', message: expect.stringMatching(/profile/) }]);
    const unknownProfile = problemsOf(`{ kind: http_jobs, profile: acme, base_url: "https://jobs.example.com/api" }`);
    expect(unknownProfile.map((p) => p.path)).toEqual(['projects.0.backend.profile']);
  });

  it('names a rule whose text test is no regular expression or tests no field, and a refused-while word no status has', () => {
    const status = `{ request: { path: "/jobs/{id}" }, fields: { status: /state }, words: { pending: queued, done: succeeded },
      not_found: { answers: [{ http_status: [403], field: /message, matches: "(unclosed" }] } }`;
    const cancel = `{ request: { method: POST, path: "/jobs/{id}/cancel" }, refused_while: [pending, parked],
      answers: [{ http_status: ["4xx"], words: [nope], means: not_cancellable }] }`;
    expect(problemsOf(own(status, cancel))).toEqual([
      { path: 'projects.0.backend.status.not_found.answers.0.matches', message: 'not a valid regular expression' },
      { path: 'projects.0.backend.cancel.refused_while', message: expect.stringMatching(/"parked" is not one of status.words/) },
      { path: 'projects.0.backend.cancel.answers.0', message: expect.stringMatching(/name the field/) },
    ]);
  });

  it('finds nothing wrong in any profile the gateway ships: the ready-made ones and the three built-in kinds', () => {
    const shipped: [string, Profile][] = [
      ...PROFILE_NAMES.map((n): [string, Profile] => [n, resolveProfile({ profile: n })]),
      ['agent_jobs', AGENT_JOBS_PROFILE],
      ['project_runtime', projectRuntimeProfile('dreamy-haven')],
      ['comfycontrol', comfycontrolProfile({ requests: 40, per_seconds: 10 })],
    ];
    for (const [name, profile] of shipped) {
      const problems: string[] = [];
      checkProfile(profile, (path, message) => problems.push(`${path.join('.')}: ${message}`));
      expect(problems, name).toEqual([]);
    }
    // The check sees a built-in profile's mistakes as it sees an operator's.
    const broken: string[] = [];
    checkProfile({ ...AGENT_JOBS_PROFILE, cancel: { ...AGENT_JOBS_PROFILE.cancel, refused_while: ['PAUSED'] } }, (path) =>
      broken.push(path.join('.')),
    );
    expect(broken).toEqual(['cancel.refused_while']);
  });
});
