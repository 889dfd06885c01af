// Loaded before every test file (vitest.config.ts setupFiles): each SDK client's callTool, 1.x and
// v2 alike, checks a job tool's result against that tool's outputSchema before the test sees it, so
// no test that meets the gateway through a client can miss a result drifting from its schema.
// Tools the gateway does not serve as job tools (the conformance fixtures) pass unchecked.
import { afterAll, expect } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { expectMatchesOutputSchema, isJobToolName, recordValidatedCount } from './result-schemas.ts';

type CallTool = (this: unknown, params: { name: string }, ...rest: unknown[]) => Promise<unknown>;

for (const proto of [Client.prototype, ModernClient.prototype] as unknown as { callTool: CallTool }[]) {
  const callTool = proto.callTool;
  proto.callTool = async function checkedCallTool(this: unknown, params, ...rest) {
    const result = await callTool.call(this, params, ...rest);
    return isJobToolName(params.name) ? expectMatchesOutputSchema(params.name, result) : result;
  };
}

afterAll(() => recordValidatedCount(expect.getState().testPath ?? 'a test file'));
