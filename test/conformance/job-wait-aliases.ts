// The Tasks extension's scenarios call task-supporting fixture tools by fixed names (slow_compute,
// failing_job, …), and no option of the suite renames them. The gateway makes a task only of a job
// wait (get_job_status or cancel_job with wait_seconds); a fixture tool (GatewayDeps.extraTools)
// never becomes one, and the product has no test-only way to make it. So the conformance run puts
// this proxy in front of the gateway: it forwards every request as it came, except a tools/call of
// an alias, which it rewrites (body and Mcp-Name) into the job wait the alias stands for, on the
// sandbox. The tasks the scenarios then poll, cancel and read are the gateway's own, made by its
// product code.
//
//   slow_compute {seconds}  get_job_status on a running job of the sandbox with wait_seconds:
//                           seconds. The sandbox's clock is manual, so the job never moves: the
//                           wait lasts its seconds and ends with the status unchanged (a result).
//                           seconds 0 asks for no wait: answered in the call.
//   failing_job             the same wait (1 s) on another running job, whose backend starts
//                           refusing the gateway's credentials (HTTP 401) once the gateway
//                           answered: the wait's next read (the project's poll interval, which the
//                           run shortens) fails in a way that will not pass, and the task completes
//                           with the tool error BACKEND_AUTH (isError), as the waiting call would
//                           have answered. (A failure that may pass, such as a 503, would not do: at
//                           the deadline a wait answers the last status a read gave. A job the
//                           backend no longer knows is no error either: the answer says found: false.)
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Simulation } from '../../src/simulation/simulation.ts';
import { seed, type TestGateway } from '../helpers/gateway.ts';

/** The sandbox project the aliases wait on (agent_jobs: one host, one read per job). */
const PROJECT = 'agents';

export interface JobWaitAliases {
  /** The proxy's MCP URL (localhost, the gateway's path). */
  url: string;
  /** tools/call names rewritten so far, in order (to assert that the aliases were used). */
  rewritten: string[];
  close(): Promise<void>;
}

export async function startJobWaitAliases(t: TestGateway): Promise<JobWaitAliases> {
  const sim = t.sandbox.simulations.find((s) => s.kind === 'agent_jobs') as Simulation;
  if (!sim) throw new Error('the sandbox runs no agent_jobs simulation');
  const slowJob = seed(t, PROJECT, 'running', 0);
  const failingJob = seed(t, PROJECT, 'long_running', 0);
  const readsOf = (jobId: string) => (req: { method: string; path: string }) => req.method === 'GET' && req.path.includes(jobId);
  const rewritten: string[] = [];

  /** The call an alias stands for, and what to do once the gateway answered it. */
  function rewrite(name: string, args: Record<string, unknown>): { name: string; arguments: object; after?: () => void } | undefined {
    if (name === 'slow_compute') {
      const seconds = typeof args.seconds === 'number' ? args.seconds : 0;
      return { name: 'get_job_status', arguments: { project_reference: PROJECT, job_id: slowJob, wait_seconds: seconds } };
    }
    if (name === 'failing_job') {
      // Each call starts with the backend answering for the job (so its wait can start), failing after.
      sim.server.setFault(null);
      return {
        name: 'get_job_status',
        arguments: { project_reference: PROJECT, job_id: failingJob, wait_seconds: 1 },
        after: () => sim.server.setFault({ kind: 'status', status: 401, body: '{"error":"unauthorized"}' }, readsOf(failingJob)),
      };
    }
    return undefined;
  }

  const upstream = new URL(t.mcpUrl);
  let port = 0; // the proxy's, once it listens
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const headers = { ...req.headers };
      // The gateway accepts its own localhost Host and Origin: the proxy's become the gateway's
      // (any other is forwarded as it came, for the DNS-rebinding scenario to be refused).
      if (headers.host === `localhost:${port}`) headers.host = `localhost:${upstream.port}`;
      if (headers.origin === `http://localhost:${port}`) headers.origin = `http://localhost:${upstream.port}`;
      let after: (() => void) | undefined;
      const message = req.method === 'POST' ? parse(body) : undefined;
      if (message?.method === 'tools/call' && isRecord(message.params) && typeof message.params.name === 'string') {
        const alias = rewrite(message.params.name, isRecord(message.params.arguments) ? message.params.arguments : {});
        if (alias) {
          rewritten.push(message.params.name);
          if (headers['mcp-name'] === message.params.name) headers['mcp-name'] = alias.name;
          message.params = { ...message.params, name: alias.name, arguments: alias.arguments };
          body = Buffer.from(JSON.stringify(message));
          headers['content-length'] = String(body.length);
          after = alias.after;
        }
      }
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers },
        (answer: IncomingMessage) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', () => after?.());
        },
      );
      forward.on('error', () => res.destroy());
      res.on('close', () => forward.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}${upstream.pathname}`,
    rewritten,
    close: () => {
      sim.server.setFault(null);
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function parse(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
