// Loaded before every test file (vitest.config.ts setupFiles): each SDK client's callTool, 1.x and
// v2 alike, checks a job tool's result against that tool's outputSchema before the test sees it, so
// no test that meets the gateway through a client can miss a result drifting from its schema.
// Tools the gateway does not serve as job tools (the conformance fixtures) pass unchecked.
import { afterAll, beforeAll, expect } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { expectMatchesOutputSchema, isJobToolName, recordValidatedCount, validatedResults } from './result-schemas.ts';

type CallTool = ((this: unknown, params: { name: string }, ...rest: unknown[]) => Promise<unknown>) & { [CHECKED]?: true };
const CHECKED = Symbol.for('mcp-job-gateway.checked-call-tool');

// The unit tier shares modules between the files of a worker (vitest.config.ts), so this file runs
// again on prototypes it has already wrapped: a wrapped callTool is left as it is.
for (const proto of [Client.prototype, ModernClient.prototype] as unknown as { callTool: CallTool }[]) {
  const callTool = proto.callTool;
  if (callTool[CHECKED]) continue;
  const checkedCallTool: CallTool = async function (this: unknown, params, ...rest) {
    const result = await callTool.call(this, params, ...rest);
    return isJobToolName(params.name) ? expectMatchesOutputSchema(params.name, result) : result;
  };
  checkedCallTool[CHECKED] = true;
  proto.callTool = checkedCallTool;
}

let atStart = 0;
beforeAll(() => {
  atStart = validatedResults();
});
afterAll(() => recordValidatedCount(expect.getState().testPath ?? 'a test file', validatedResults() - atStart));
