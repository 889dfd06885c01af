// The practical upper limit: a bare node:http server that reads the POSTed JSON-RPC body, makes the
// backend GET and answers a JSON-RPC result with the backend's JSON as a text block. No MCP machinery,
// no validation beyond what it needs, no auth.
// Usage: node scripts/bench/bare-proxy.ts PORT BACKEND_BASE_URL
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createBackendClient } from './backend-client.ts';

const port = Number(process.argv[2]);
const backend = createBackendClient(process.argv[3] ?? '');

interface Call {
  id?: unknown;
  params?: { arguments?: { job_id?: unknown } };
}

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let status = 200;
  let answer: unknown;
  try {
    const call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Call;
    const jobId = call.params?.arguments?.job_id;
    if (typeof jobId !== 'string') throw new Error('params.arguments.job_id is missing');
    const text = await backend.getJob(jobId);
    answer = { jsonrpc: '2.0', id: call.id ?? null, result: { content: [{ type: 'text', text }] } };
  } catch (e) {
    status = 500;
    answer = { jsonrpc: '2.0', id: null, error: { code: -32603, message: (e as Error).message } };
  }
  const body = JSON.stringify(answer);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer((req, res) => void serve(req, res));
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
