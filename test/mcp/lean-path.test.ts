// The lean path's filter: which requests it may answer itself, and which it must leave to the SDK
// (which owns every protocol error), and its answer encoding.
import { describe, expect, it } from 'vitest';
import type { IncomingHttpHeaders } from 'node:http';
import { createLeanPathFilter, createLeanResultEncoder } from '../../src/mcp/lean-path.ts';
import { createMessageResolver } from '../../src/mcp/methods.ts';
import { STRUCTURED_JSON, type ToolResult } from '../../src/mcp/tools/results.ts';

const ours = (name: string) => name === 'get_job_status' || name === 'cancel_job';
const resolve = createMessageResolver((name) => (ours(name) ? { scope: 'read', budget: 1 } : undefined));
/** The lean path's filter, given raw bodies (placed in the table first, as the endpoint does). */
const leanFilter = (options?: { cacheSize?: number }) => {
  const filter = createLeanPathFilter(options);
  return (headers: IncomingHttpHeaders, body: unknown) => filter(headers, resolve(body));
};
const envelope = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
const call = (params: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params,
  ...extra,
});
const modernHeaders = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'get_job_status' };
const args = { project_reference: 'p', job_id: 'j' };

describe('lean path filter', () => {
  it('takes a plain tools/call of a job tool in either era', () => {
    const filter = leanFilter();
    expect(filter(modernHeaders, call({ name: 'get_job_status', arguments: args, _meta: envelope }))).toEqual({
      era: 'modern',
      id: 7,
      name: 'get_job_status',
      arguments: args,
    });
    expect(filter({ 'mcp-protocol-version': '2025-11-25' }, call({ name: 'get_job_status', arguments: args }))).toMatchObject({
      era: 'legacy',
    });
    expect(filter({}, call({ name: 'cancel_job', arguments: args }))).toMatchObject({ era: 'legacy', name: 'cancel_job' });
  });

  it('leaves to the SDK whatever it must answer or refuse itself', () => {
    const filter = leanFilter();
    const modern = (params: Record<string, unknown>, headers: Record<string, string> = modernHeaders) => filter(headers, call(params));
    const p = { name: 'get_job_status', arguments: args, _meta: envelope };
    expect(modern(p, { ...modernHeaders, 'mcp-method': 'tools/list' })).toBeUndefined(); // header mismatch: -32020
    expect(modern(p, { ...modernHeaders, 'mcp-name': 'cancel_job' })).toBeUndefined();
    expect(modern(p, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' })).toBeUndefined(); // Mcp-Name missing
    expect(modern(p, { ...modernHeaders, 'mcp-name': '=?base64?Z2V0X2pvYl9zdGF0dXM=?=' })).toBeUndefined(); // encoded: the SDK decodes
    expect(modern(p, { 'mcp-method': 'tools/call', 'mcp-name': 'get_job_status' })).toBeUndefined(); // no version header
    expect(modern({ ...p, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } })).toBeUndefined(); // no clientCapabilities: -32602
    expect(
      modern(
        { ...p, _meta: { ...envelope, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } },
        { ...modernHeaders, 'mcp-protocol-version': '2099-01-01' },
      ),
    ).toBeUndefined();
    expect(modern({ ...p, _meta: { ...envelope, progressToken: 1 } })).toBeUndefined(); // progress: the SDK streams
    expect(modern({ ...p, name: 'launch_missiles' }, { ...modernHeaders, 'mcp-name': 'launch_missiles' })).toBeUndefined(); // -32602
    expect(modern({ ...p, task: { ttl: 1 } })).toBeUndefined();
    expect(filter({ 'mcp-protocol-version': '2026-07-28' }, call({ name: 'get_job_status', arguments: args }))).toBeUndefined(); // modern header, no envelope
    expect(filter({ 'mcp-protocol-version': '1999-01-01' }, call({ name: 'get_job_status', arguments: args }))).toBeUndefined();
    expect(filter({}, call({ name: 'get_job_status' }, { id: 1.5 }))).toBeUndefined();
    expect(filter({}, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })).toBeUndefined();
  });

  it('judges each distinct envelope once, whatever trace context rides along', () => {
    const filter = leanFilter({ cacheSize: 2 });
    for (let i = 0; i < 5; i++) {
      const meta = { ...envelope, traceparent: `00-${'a'.repeat(31)}${i}-${'b'.repeat(16)}-01` };
      expect(filter(modernHeaders, call({ name: 'get_job_status', arguments: args, _meta: meta }))).toMatchObject({ era: 'modern' });
    }
    // A bad envelope stays refused after a good one was cached, and the other way round.
    expect(
      filter(
        modernHeaders,
        call({ name: 'get_job_status', arguments: args, _meta: { ...envelope, 'io.modelcontextprotocol/clientCapabilities': 5 } }),
      ),
    ).toBeUndefined();
    expect(filter(modernHeaders, call({ name: 'get_job_status', arguments: args, _meta: envelope }))).toMatchObject({ era: 'modern' });
  });

  it('encodes results as the SDK does for each era', () => {
    const result = { content: [{ type: 'text' as const, text: '{"a":1}' }], structuredContent: { a: 1 } };
    const info = { name: 'gw', version: '1' };
    const encode = createLeanResultEncoder(info);
    expect(JSON.parse(encode({ era: 'legacy', id: 'x', name: 'n', arguments: {} }, result))).toEqual({ jsonrpc: '2.0', id: 'x', result });
    expect(JSON.parse(encode({ era: 'modern', id: 3, name: 'n', arguments: {} }, result))).toEqual({
      jsonrpc: '2.0',
      id: 3,
      result: { ...result, resultType: 'complete', _meta: { 'io.modelcontextprotocol/serverInfo': info } },
    });
  });

  it("writes a job tool's answer from its JSON once, equal to encoding the whole result, in both eras, error or not", () => {
    const encode = createLeanResultEncoder({ name: 'gw', version: '1.2.3' });
    for (const isError of [false, true]) {
      const body = isError
        ? { error: { code: 'NOT_FOUND', message: 'a "quoted" \\ word\nand a line' } }
        : { status: 'running', details: { tags: ['a'] } };
      const text = JSON.stringify(body);
      const plain = { ...(isError ? { isError: true } : {}), content: [{ type: 'text' as const, text }], structuredContent: body };
      const withJson: ToolResult = { ...plain, [STRUCTURED_JSON]: text };
      for (const era of ['modern', 'legacy'] as const) {
        const call = { era, id: 'r-1', name: 'get_job_status', arguments: {} };
        expect(JSON.parse(encode(call, withJson))).toEqual(JSON.parse(encode(call, plain)));
      }
    }
  });
});
