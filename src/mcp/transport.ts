// Streamable HTTP handling for the MCP endpoint, in the two modes an operator can choose.
// - stateful: one server+transport per session, ids from randomUUID, bound to the caller's
//   principal, expired when idle (then 404, so the client re-initializes), capped in number.
// - stateless: a new server+transport per POST (the SDK's rule: never reuse one), JSON answers,
//   GET/DELETE 405; any replica can serve any call without affinity.
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';

export interface McpTransportOptions {
  mode: 'stateful' | 'stateless';
  createServer: () => Server;
  idleTimeoutMs: number;
  maxSessions: number;
  logger: Logger;
  now?: () => number;
  /** Who the request is from; sessions are bound to it. Authentication fills it in (see auth/). */
  principalOf?: (req: Request) => string;
}

interface Session {
  id: string;
  transport: StreamableHTTPServerTransport;
  server: Server;
  principal: string;
  lastSeen: number;
  /** Requests (including open SSE streams) in progress; a busy session is never idle. */
  open: number;
}

export interface McpTransport {
  handlePost(req: Request, res: Response): Promise<void>;
  handleGet(req: Request, res: Response): Promise<void>;
  handleDelete(req: Request, res: Response): Promise<void>;
  /** Methods the endpoint accepts, for 405 answers. */
  readonly allow: string;
  sessionCount(): number;
  close(): Promise<void>;
}

export function rpcError(res: Response, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.status(status).set(headers).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

export function createMcpTransport(options: McpTransportOptions): McpTransport {
  return options.mode === 'stateful' ? statefulTransport(options) : statelessTransport(options);
}

function statelessTransport(options: McpTransportOptions): McpTransport {
  const methodNotAllowed = async (_req: Request, res: Response) => {
    rpcError(res, 405, -32000, 'Method not allowed: this gateway runs without sessions; use POST.', { Allow: 'POST' });
  };
  return {
    allow: 'POST',
    async handlePost(req, res) {
      const server = options.createServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    },
    handleGet: methodNotAllowed,
    handleDelete: methodNotAllowed,
    sessionCount: () => 0,
    async close() {},
  };
}

function statefulTransport(options: McpTransportOptions): McpTransport {
  const now = options.now ?? Date.now;
  const principalOf = options.principalOf ?? (() => 'anonymous');
  const sessions = new Map<string, Session>();

  const sweeper = setInterval(() => {
    const cutoff = now() - options.idleTimeoutMs;
    for (const s of sessions.values()) {
      if (s.open === 0 && s.lastSeen < cutoff) {
        options.logger.info({ session: s.id }, 'mcp session expired after idle timeout');
        void end(s);
      }
    }
  }, Math.min(60_000, Math.max(1_000, options.idleTimeoutMs / 4)));
  sweeper.unref();

  async function end(s: Session): Promise<void> {
    sessions.delete(s.id);
    await s.transport.close().catch(() => {});
    await s.server.close().catch(() => {});
  }

  /** The caller's session, or an answer saying why there is none. */
  function lookup(req: Request, res: Response): Session | undefined {
    const id = req.header('mcp-session-id');
    if (!id) {
      rpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      return undefined;
    }
    let s = sessions.get(id);
    if (s && s.open === 0 && s.lastSeen < now() - options.idleTimeoutMs) {
      void end(s); // expired but not yet swept
      s = undefined;
    }
    // Another principal's session id is answered exactly like an unknown one.
    if (!s || s.principal !== principalOf(req)) {
      rpcError(res, 404, -32001, 'Session not found');
      return undefined;
    }
    return s;
  }

  async function serve(s: Session, req: Request, res: Response): Promise<void> {
    s.lastSeen = now();
    s.open++;
    res.on('close', () => {
      s.open--;
      s.lastSeen = now();
    });
    await s.transport.handleRequest(req, res, req.body);
  }

  return {
    allow: 'GET, POST, DELETE',
    async handlePost(req, res) {
      if (req.header('mcp-session-id') !== undefined) {
        const s = lookup(req, res);
        if (s) await serve(s, req, res);
        return;
      }
      if (!isInitializeRequest(req.body)) {
        rpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required (send initialize first)');
        return;
      }
      if (sessions.size >= options.maxSessions) {
        rpcError(res, 503, -32000, 'Too many open sessions; try again later', { 'Retry-After': '30' });
        return;
      }
      const server = options.createServer();
      const principal = principalOf(req);
      const session: Session = { id: '', transport: undefined as unknown as StreamableHTTPServerTransport, server, principal, lastSeen: now(), open: 0 };
      session.transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => {
          session.id = id;
          sessions.set(id, session);
        },
        onsessionclosed: (id) => {
          const s = sessions.get(id);
          if (s) void end(s);
        },
      });
      await server.connect(session.transport);
      await serve(session, req, res);
    },
    async handleGet(req, res) {
      const s = lookup(req, res);
      if (s) await serve(s, req, res);
    },
    async handleDelete(req, res) {
      const s = lookup(req, res);
      if (s) await serve(s, req, res);
    },
    sessionCount: () => sessions.size,
    async close() {
      clearInterval(sweeper);
      await Promise.allSettled([...sessions.values()].map(end));
    },
  };
}
