// The official SDK's documented per-request server: createMcpHandler(factory) from
// @modelcontextprotocol/server, a new McpServer with get_job_status registered per request, mounted on
// node:http with toNodeHandler from @modelcontextprotocol/node. Both eras (modern per-request
// envelope, legacy stateless fallback); no auth.
// Usage: node scripts/bench/sdk-server.ts PORT BACKEND_BASE_URL
import { createServer } from 'node:http';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import * as z from 'zod';
import { createBackendClient } from './backend-client.ts';

const port = Number(process.argv[2]);
const backend = createBackendClient(process.argv[3] ?? '');
const inputSchema = z.object({ project_reference: z.string().min(1), job_id: z.string().min(1) });

const handler = createMcpHandler(() => {
  const server = new McpServer({ name: 'bench-sdk-server', version: '1.0.0' });
  server.registerTool('get_job_status', { description: 'The status of one job.', inputSchema }, async ({ job_id }) => ({
    content: [{ type: 'text', text: await backend.getJob(job_id) }],
  }));
  return server;
});

const serve = toNodeHandler(handler);
const server = createServer((req, res) => void serve(req, res));
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  void handler.close();
  server.close(() => process.exit(0));
});
