// The HTTP harness every simulated backend runs on: a plain node:http server on loopback, a log of
// the requests it received (so tests can prove what the gateway sent, and what it never sent), and
// fault injection (hang, garbage, a fixed status) so tests can break one backend on purpose.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SimRequest {
  method: string;
  /** Path without the query string, still percent-encoded as received. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Raw body text ('' when none). */
  body: string;
}

export interface SimResponse {
  status: number;
  /** Serialized as JSON. */
  json?: unknown;
  /** Sent as is (takes precedence over json). */
  text?: string;
  headers?: Record<string, string>;
}

export type SimHandler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

export type Fault =
  | { kind: 'hang' } // accept the request, never answer
  | { kind: 'garbage' } // 200 with a body that is not JSON
  | { kind: 'delay'; ms: number } // answer normally, but late
  | { kind: 'hold'; until: Promise<unknown> } // answer normally once `until` settles (a test decides when)
  | { kind: 'status'; status: number; body?: string }; // a fixed answer

export interface SimServer {
  readonly url: string;
  readonly port: number;
  /** Requests received, oldest first (the last 1000). */
  readonly requests: SimRequest[];
  /** Requests received and not yet answered or abandoned by the client (e.g. hung ones). */
  openRequests(): number;
  /**
   * Breaks the server on purpose until cleared with null; with `only`, just the requests it picks (the
   * read of one job, a cancel) are faulted, and the others are answered as usual.
   */
  setFault(fault: Fault | null, only?: (req: SimRequest) => boolean): void;
  close(): Promise<void>;
}

export interface SimServerOptions {
  port?: number;
  host?: string;
  /** Largest request body accepted, like a real server would. */
  maxBodyBytes?: number;
  /**
   * Takes a request as it arrives, body unread, when it returns true (it then answers it; the request
   * is neither logged nor faulted): the sandbox issuer mounts its OAuth authorization server here.
   */
  passthrough?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export async function startSimServer(handle: SimHandler, options: SimServerOptions = {}): Promise<SimServer> {
  const requests: SimRequest[] = [];
  let faultOn: Fault | null = null;
  let faulted: ((req: SimRequest) => boolean) | undefined;
  let open = 0;
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (options.passthrough?.(req, res)) return;
    open++;
    res.once('close', () => open--);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > maxBody) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(c as Buffer);
    }
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const simReq: SimRequest = {
      method: req.method ?? 'GET',
      path: q === -1 ? raw : raw.slice(0, q),
      query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)),
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(simReq);
    if (requests.length > 1000) requests.shift();

    const fault = faultOn === null || (faulted !== undefined && !faulted(simReq)) ? null : faultOn;
    if (fault?.kind === 'hang') return; // the socket stays open until the client gives up
    if (fault?.kind === 'delay') {
      const ms = fault.ms;
      await new Promise((r) => setTimeout(r, ms));
    }
    if (fault?.kind === 'hold') await fault.until.catch(() => {});
    let out: SimResponse;
    if (fault?.kind === 'garbage') out = { status: 200, text: '<html>upstream proxy error', headers: { 'content-type': 'text/html' } };
    else if (fault?.kind === 'status') out = { status: fault.status, text: fault.body ?? '' };
    else {
      try {
        out = await handle(simReq);
      } catch (e) {
        out = { status: 500, text: `simulation error: ${(e as Error).message}` };
      }
    }
    const body = out.text ?? (out.json === undefined ? '' : JSON.stringify(out.json));
    const headers: Record<string, string> = { ...(out.headers ?? {}) };
    if (out.text === undefined && out.json !== undefined) headers['content-type'] ??= 'application/json';
    res.writeHead(out.status, headers).end(body);
  }

  const server: Server = createServer((req, res) => void serve(req, res));
  // Hung requests must not keep close() waiting.
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    openRequests: () => open,
    setFault(f, only) {
      faultOn = f;
      faulted = f === null ? undefined : only;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Parses a JSON request body; undefined for an empty or invalid body (callers decide what that means). */
export function jsonBody(req: SimRequest): unknown {
  if (req.body.trim() === '') return undefined;
  try {
    return JSON.parse(req.body);
  } catch {
    return undefined;
  }
}

/** The path split into decoded segments; null if a segment does not decode. */
export function segments(path: string): string[] | null {
  try {
    return path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
}
