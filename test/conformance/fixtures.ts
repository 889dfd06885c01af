// The conformance suite calls fixture tools by fixed names. These exercise our transport and
// error plumbing (a text result; an isError result; progress notifications on the request's own
// stream, in both eras; the tasks scenarios' one sync-only tool) and are served only in the
// conformance run, injected through GatewayDeps.extraTools; the product itself serves just its
// three job tools. The tasks scenarios' task-supporting fixtures are not here: an extra tool never
// becomes a task; slow_compute and failing_job are job waits (job-wait-aliases.ts), and the others
// cannot be served (expected-failures-2026-07-28.yml).
import type { ExtraTool } from '../../src/mcp/dispatch.ts';

export const conformanceFixtures: readonly ExtraTool[] = [
  {
    definition: {
      name: 'test_simple_text',
      description: 'Conformance fixture: returns a text block.',
      inputSchema: { type: 'object', additionalProperties: false },
    },
    scope: 'read',
    budget: 1,
    handler: async () => ({ content: [{ type: 'text', text: 'This is a simple text response for testing.' }] }),
  },
  {
    definition: {
      name: 'test_error_handling',
      description: 'Conformance fixture: always fails as a tool error.',
      inputSchema: { type: 'object', additionalProperties: false },
    },
    scope: 'read',
    budget: 1,
    handler: async () => ({ isError: true, content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }] }),
  },
  {
    definition: {
      name: 'test_tool_with_progress',
      description: 'Conformance fixture: reports progress three times, then answers.',
      inputSchema: { type: 'object', additionalProperties: false },
    },
    scope: 'read',
    budget: 1,
    handler: async (_args, _signal, progress) => {
      for (const step of [0, 50, 100]) await progress?.({ progress: step, total: 100, message: `step ${step}` });
      return { content: [{ type: 'text', text: 'done' }] };
    },
  },
  {
    // The tasks-* scenarios' sync-only tool: a tools/call that must answer at once (resultType
    // "complete", no taskId), with or without a legacy `task` param or an Mcp-Method header.
    definition: {
      name: 'greet',
      description: 'Conformance fixture: greets by name, synchronously.',
      inputSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false },
    },
    scope: 'read',
    budget: 1,
    handler: async (args) => ({ content: [{ type: 'text', text: `Hello, ${String(args?.name)}!` }] }),
  },
];
