// The result-schema check bites: against the schemas the gateway publishes, a result with a field
// its schema lacks, or a field of the wrong type, fails with the tool, the path and the value named.
import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { expectMatchesOutputSchema } from '../helpers/result-schemas.ts';

const status = {
  project_reference: 'agents',
  backend: { name: 'agents', kind: 'agent_jobs' },
  job_id: 'job-1',
  found: true,
  status: 'running',
  raw_status: 'RUNNING',
  terminal: false,
};
const ok = (body: unknown) => ({ content: [{ type: 'text', text: JSON.stringify(body) }], structuredContent: body });

describe('expectMatchesOutputSchema', () => {
  it('passes a result and a tool error that match the published schema', () => {
    expect(() => expectMatchesOutputSchema('get_job_status', ok(status))).not.toThrow();
    const error = { isError: true, ...ok({ error: { code: 'UNKNOWN_PROJECT', message: 'No project "x".' }, project_reference: 'x' }) };
    expect(() => expectMatchesOutputSchema('cancel_job', error)).not.toThrow();
    const page = ok({ project_reference: 'agents', backend: status.backend, jobs: [], next_cursor: null });
    expect(() => expectMatchesOutputSchema('list_jobs', page)).not.toThrow();
  });

  it('fails a result with a field its schema lacks, naming the tool, the path and the field', () => {
    expect(() => expectMatchesOutputSchema('get_job_status', ok({ ...status, priority: 5 }))).toThrow(
      /^get_job_status: the result does not match its outputSchema\n {2}at \/: must NOT have additional properties \(priority: 5\)/,
    );
    const page = ok({
      project_reference: 'agents',
      backend: status.backend,
      jobs: [{ job_id: 'j', status: 'queued', raw_status: null, terminal: false, owner: 'ann' }],
      next_cursor: null,
    });
    expect(() => expectMatchesOutputSchema('list_jobs', page)).toThrow(
      /at \/jobs\/0: must NOT have additional properties \(owner: "ann"\)/,
    );
  });

  it('fails a field of the wrong type or outside its enum, with the value found there', () => {
    expect(() => expectMatchesOutputSchema('get_job_status', ok({ ...status, terminal: 'no' }))).toThrow(
      /get_job_status: .*\n {2}at \/terminal: must be boolean; value: "no"/,
    );
    expect(() => expectMatchesOutputSchema('get_job_status', ok({ ...status, status: 'paused' }))).toThrow(
      /at \/status: .*; value: "paused"/,
    );
  });

  it('checks a tool error against the error shape', () => {
    const error = { isError: true, ...ok({ error: { code: 'OOPS', message: 'm' } }) };
    expect(() => expectMatchesOutputSchema('cancel_job', error)).toThrow(/^cancel_job: .*\n {2}at \/error\/code: .*; value: "OOPS"/);
  });

  it('fails a result with no structuredContent, and a tool the gateway does not serve', () => {
    expect(() => expectMatchesOutputSchema('get_job_status', { content: [] })).toThrow(
      /get_job_status: the result has no structuredContent/,
    );
    expect(() => expectMatchesOutputSchema('launch_missiles', ok({}))).toThrow(/serves no tool "launch_missiles"/);
  });

  it('stands between every SDK client and the test: callTool of both SDK versions is the checked one', () => {
    expect(Client.prototype.callTool.name).toBe('checkedCallTool');
    expect(ModernClient.prototype.callTool.name).toBe('checkedCallTool');
  });
});
