// The requests the benchmark sends (one per MCP era), and the check that one answer is a successful
// get_job_status tool result. Shared by the load (wrk Lua scripts) and the pre-load check (fetch).

export const PROJECT = 'bench';
export const JOB_ID = '2c5b55bb-a98e-5732-8be2-604e1613eb01';
export const BACKEND_KEY = 'bench-backend-key';
export const MODERN = '2026-07-28';
export const LEGACY = '2025-11-25';

export type Era = 'modern' | 'legacy';

export interface RequestShape {
  headers: Record<string, string>;
  body: string;
}

export function requestShape(era: Era, token?: string): RequestShape {
  const params: Record<string, unknown> = { name: 'get_job_status', arguments: { project_reference: PROJECT, job_id: JOB_ID } };
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': era === 'modern' ? MODERN : LEGACY,
  };
  if (era === 'modern') {
    headers['Mcp-Method'] = 'tools/call';
    headers['Mcp-Name'] = 'get_job_status';
    params._meta = {
      'io.modelcontextprotocol/protocolVersion': MODERN,
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
    };
  }
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  return { headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params }) };
}

/** What a successful answer must show: the gateway's unified status, or the backend record passed through. */
export type Expect = 'gateway' | 'passthrough';

/** Sends the request once; resolves with undefined when the answer is a successful tool result, else the reason. */
export async function checkOnce(url: string, shape: RequestShape, expect: Expect): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: shape.headers, body: shape.body, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    return `request failed: ${(e as Error).message}`;
  }
  const text = await res.text();
  const excerpt = text.replace(/\s+/g, ' ').slice(0, 300);
  if (res.status < 200 || res.status > 299) return `HTTP ${res.status}: ${excerpt}`;
  let msg: {
    result?: { isError?: boolean; structuredContent?: { status?: unknown }; content?: { type?: string; text?: string }[] };
    error?: unknown;
  };
  try {
    msg = JSON.parse(jsonRpcText(res.headers.get('content-type') ?? '', text)) as typeof msg;
  } catch {
    return `HTTP ${res.status}, not a JSON-RPC answer: ${excerpt}`;
  }
  if (msg.error !== undefined) return `JSON-RPC error: ${JSON.stringify(msg.error).slice(0, 300)}`;
  const result = msg.result;
  if (!result) return `no result: ${excerpt}`;
  if (result.isError) return `tool error: ${excerpt}`;
  if (expect === 'gateway') {
    const status = result.structuredContent?.status;
    return status === 'running' ? undefined : `structuredContent.status is ${JSON.stringify(status)}, not "running": ${excerpt}`;
  }
  const block = result.content?.[0];
  if (block?.type !== 'text' || !block.text?.includes(JOB_ID)) return `no text block with the backend's job record: ${excerpt}`;
  return undefined;
}

/** The JSON-RPC message of an answer: the body itself, or the last `data:` event of an SSE stream. */
function jsonRpcText(contentType: string, text: string): string {
  if (!contentType.includes('text/event-stream')) return text;
  const events = text.split(/\r?\n\r?\n/).map((e) =>
    e
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n'),
  );
  return events.filter((d) => d !== '').at(-1) ?? '';
}
