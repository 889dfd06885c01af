// How the lean path writes a call's answer, byte for byte as the SDK's per-request transport does in
// its 'auto' response mode, so that a client cannot tell the paths apart:
// - a result that no notification preceded is one JSON body;
// - from the first progress notification on (a wait's heartbeat, for a client that sent a progress
//   token), the answer is a text/event-stream of `event: message` frames with the SDK's headers and
//   its keep-alive comment, and the result is its last frame, which ends the stream.
// A wait with heartbeats then costs what a plain wait does, not a whole SDK server and transport
// (docs/performance.md, "Waiting agents at scale").
import type { ServerResponse } from 'node:http';
import type { ProgressSender } from './dispatch.ts';

/** The headers of the SDK's event stream. */
const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

/** How often a quiet event stream gets a comment, so that proxies keep it open (the SDK's default). */
export const SSE_KEEP_ALIVE_MS = 15_000;

/** A JSON-RPC progress token: a string or an integer (the SDK's ProgressTokenSchema). */
export type ProgressToken = string | number;

export interface LeanReply {
  /** Sends a progress notification; undefined when the client sent no progress token. */
  readonly progress: ProgressSender | undefined;
  /** Writes the JSON-RPC answer (the JSON text of a result or an error) and ends the response. */
  end(text: string): void;
}

export function createLeanReply(res: ServerResponse, progressToken: ProgressToken | undefined, keepAliveMs = SSE_KEEP_ALIVE_MS): LeanReply {
  let keepAlive: NodeJS.Timeout | undefined;
  const open = () => !res.writableEnded && !res.destroyed;
  const frame = (json: string) => `event: message\ndata: ${json}\n\n`;
  const progress: ProgressSender | undefined =
    progressToken === undefined
      ? undefined
      : (update) => {
          if (open()) {
            if (!res.headersSent) {
              res.writeHead(200, SSE_HEADERS);
              keepAlive = setInterval(() => {
                if (open()) res.write(': keepalive\n\n');
              }, keepAliveMs).unref();
              res.once('close', () => clearInterval(keepAlive));
            }
            res.write(frame(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken, ...update } })));
          }
          return Promise.resolve();
        };
  return {
    progress,
    end(text) {
      if (!open()) return;
      clearInterval(keepAlive);
      if (res.headersSent) {
        res.end(frame(text));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    },
  };
}
