// The lean path's filter: which requests it may answer itself, and which it must leave to the SDK
// (which owns every protocol error), and its answer encoding.
import { describe, expect, it } from 'vitest';
import type { IncomingHttpHeaders } from 'node:http';
import { createLeanPathFilter, createLeanResultEncoder, type LeanPathOptions } from '../../src/mcp/lean-path.ts';
import { createMessageResolver } from '../../src/mcp/methods.ts';
import { STRUCTURED_JSON, type ToolResult } from '../../src/mcp/tools/results.ts';

const ours = (name: string) => name === 'get_job_status' || name === 'cancel_job';
const resolve = createMessageResolver((name) => (ours(name) ? { scope: 'read', budget: 1 } : undefined));
/** The lean path's filter, given raw bodies (placed in the table first, as the endpoint does). */
const leanFilter = (options?: LeanPathOptions) => {
  const filter = createLeanPathFilter(options);
  return Object.assign((headers: IncomingHttpHeaders, body: unknown) => filter(headers, resolve(body)), {
    verdictCache: filter.verdictCache,
  });
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
    for (const progressToken of [1.5, 2 ** 53, true, null, {}, []])
      expect(modern({ ...p, _meta: { ...envelope, progressToken } })).toBeUndefined(); // not a string or a safe integer
    expect(filter({}, call({ name: 'get_job_status', arguments: args, _meta: { progressToken: 1.5 } }))).toBeUndefined();
    expect(modern({ ...p, name: 'launch_missiles' }, { ...modernHeaders, 'mcp-name': 'launch_missiles' })).toBeUndefined(); // -32602
    expect(modern({ ...p, task: { ttl: 1 } })).toBeUndefined();
    expect(filter({ 'mcp-protocol-version': '2026-07-28' }, call({ name: 'get_job_status', arguments: args }))).toBeUndefined(); // modern header, no envelope
    expect(filter({ 'mcp-protocol-version': '1999-01-01' }, call({ name: 'get_job_status', arguments: args }))).toBeUndefined();
    expect(filter({}, call({ name: 'get_job_status' }, { id: 1.5 }))).toBeUndefined();
    expect(filter({}, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} })).toBeUndefined();
  });

  it('takes a call with a progress token in either era, and judges its envelope once whatever the token', () => {
    const filter = leanFilter();
    for (const progressToken of ['p-1', 'p-2', 0, 42, -3]) {
      expect(filter(modernHeaders, call({ name: 'get_job_status', arguments: args, _meta: { ...envelope, progressToken } }))).toEqual({
        era: 'modern',
        id: 7,
        name: 'get_job_status',
        arguments: args,
        progressToken,
      });
      expect(
        filter({ 'mcp-protocol-version': '2025-06-18' }, call({ name: 'cancel_job', arguments: args, _meta: { progressToken } })),
      ).toEqual({
        era: 'legacy',
        id: 7,
        name: 'cancel_job',
        arguments: args,
        progressToken,
      });
    }
    expect(filter.verdictCache().entries).toBe(1);
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

  it('keeps its verdicts within their byte bound, whatever envelopes one caller sends', () => {
    const filter = leanFilter(); // the gateway's defaults
    const bound = filter.verdictCache();
    expect(bound).toMatchObject({ entries: 0, bytes: 0, maxEntries: 1000, maxBytes: 1024 * 1024, maxKeyBytes: 2048 });
    const judge = (meta: Record<string, unknown>) => filter(modernHeaders, call({ name: 'get_job_status', arguments: args, _meta: meta }));
    // 500 distinct envelopes of about 60 KB (a body's limit is 64 KB): judged, none kept.
    for (let i = 0; i < 500; i++) {
      expect(judge({ ...envelope, 'x.example/pad': `${i}:${'p'.repeat(60_000)}` })).toMatchObject({ era: 'modern' });
      expect(filter.verdictCache()).toMatchObject({ entries: 0, bytes: 0 });
    }
    // Envelopes just under the key limit, many distinct ones: the bytes stay within their bound.
    let most = 0;
    for (let i = 0; i < 3000; i++) {
      expect(judge({ ...envelope, 'x.example/pad': `${i}:${'p'.repeat(700)}` })).toMatchObject({ era: 'modern' });
      const use = filter.verdictCache();
      expect(use.bytes).toBeLessThanOrEqual(bound.maxBytes);
      expect(use.entries).toBeLessThanOrEqual(bound.maxEntries);
      most = Math.max(most, use.bytes);
    }
    expect(most).toBeGreaterThan(bound.maxBytes - 2 * bound.maxKeyBytes); // it did fill up to its bound, no further
    // A smaller bound, counted exactly: each verdict is its key's 2 bytes a character plus a fixed part.
    const small = leanFilter({ cacheSize: 10, cacheBytes: 4096 });
    for (let i = 0; i < 50; i++) small(modernHeaders, call({ name: 'get_job_status', arguments: args, _meta: { ...envelope, n: i } }));
    const use = small.verdictCache();
    expect(use.entries).toBeGreaterThan(0);
    expect(use.entries).toBeLessThanOrEqual(10);
    expect(use.bytes).toBeLessThanOrEqual(4096);
  });

  it('still answers a large envelope it does not keep, and refuses a bad one', () => {
    const filter = leanFilter();
    const big = { ...envelope, 'x.example/pad': 'p'.repeat(10_000) };
    for (let i = 0; i < 3; i++)
      expect(filter(modernHeaders, call({ name: 'get_job_status', arguments: args, _meta: big }))).toMatchObject({ era: 'modern' });
    const bad = { ...big, 'io.modelcontextprotocol/clientCapabilities': 5 };
    expect(filter(modernHeaders, call({ name: 'get_job_status', arguments: args, _meta: bad }))).toBeUndefined();
    expect(filter(modernHeaders, call({ name: 'get_job_status', arguments: args, _meta: big }))).toMatchObject({ era: 'modern' });
    expect(filter.verdictCache().entries).toBe(0);
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
