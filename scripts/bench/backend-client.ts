// The backend call the bare proxy and the SDK server make: the same GET the gateway's agent-jobs
// adapter sends, over an undici keep-alive pool (64 connections, as the gateway's per-backend pool).
import { Pool } from 'undici';
import { BACKEND_KEY } from './shapes.ts';

export interface BackendClient {
  /** The job's record as the backend answered it (the raw JSON text); throws on a non-200. */
  getJob(jobId: string): Promise<string>;
}

/** `baseUrl` as configured for the gateway, e.g. http://127.0.0.1:PORT/api/v0. */
export function createBackendClient(baseUrl: string): BackendClient {
  const base = new URL(baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, { connections: 64, keepAliveTimeout: 10_000 });
  const headers = { authorization: `Bearer ${BACKEND_KEY}`, accept: 'application/json', 'x-client-type': 'mcp' };
  return {
    async getJob(jobId) {
      const res = await pool.request({ method: 'GET', path: `${prefix}/services/agent-jobs/${encodeURIComponent(jobId)}`, headers });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`backend answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
      return text;
    },
  };
}
