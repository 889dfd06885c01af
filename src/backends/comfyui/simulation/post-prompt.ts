// POST /prompt, as each kind of server answers it. A current server takes a client-supplied prompt_id
// only in canonical lowercase UUID form (else 400 invalid_prompt_id, an *object* error); a legacy one
// takes whatever it is given, `str(json_data.get("prompt_id", uuid4()))`, so "render-42" or an
// uppercase UUID become the job's id verbatim. On a current server a prompt_id that already exists is
// a 409 with a *string* error; a legacy one (0.3.64 among them) queues a second job under it. A legacy
// server answers a missing prompt with the string error "no prompt".
import { randomUUID } from 'node:crypto';
import type { SimRequest, SimResponse } from '../../../simulation/sim-server.ts';
import { outputNodes } from './graph.ts';
import { isValidJobId } from './jobs-api.ts';
import type { PromptQueue } from './prompt-queue.ts';
import { INVALID, isObject, json, parseBody, pyStr, serverError } from './python.ts';
import type { ComfyGraph } from './types.ts';

export function postPrompt(queue: PromptQueue, req: SimRequest): SimResponse {
  const body = parseBody(req);
  if (body === INVALID || !isObject(body)) return serverError; // request.json() raised, or .get on a non-dict
  let number: number;
  if ('number' in body) {
    const raw = body.number;
    number = typeof raw === 'number' || (typeof raw === 'string' && raw.trim() !== '') ? Number(raw) : NaN;
    if (!Number.isFinite(number)) return serverError; // float() raised
  } else number = queue.nextNumber('front' in body && Boolean(body.front));
  if (!('prompt' in body)) {
    if (queue.api === 'legacy') return json(400, { error: 'no prompt', node_errors: [] });
    return json(400, {
      error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} },
      node_errors: {},
    });
  }
  const id = promptIdOf(queue, body);
  if (id === undefined) {
    return json(400, {
      error: {
        type: 'invalid_prompt_id',
        message: 'prompt_id must be a valid UUID',
        details: 'prompt_id must be a UUID string in canonical lowercase hyphenated form; omit it to let the server generate one',
        extra_info: {},
      },
      node_errors: {},
    });
  }
  if (queue.api === 'jobs' && queue.knownId(id)) return json(409, { error: 'prompt_id already exists' });
  const graph = body.prompt;
  if (!isObject(graph)) {
    return json(400, {
      error: { type: 'invalid_prompt', message: 'Cannot execute because the prompt is not an object.', details: '', extra_info: {} },
      node_errors: [],
    });
  }
  for (const [nodeId, node] of Object.entries(graph)) {
    if (!isObject(node) || typeof node.class_type !== 'string') {
      return json(400, {
        error: {
          type: 'invalid_prompt',
          message: 'Cannot execute because a node is missing the class_type property.',
          details: `Node ID '#${nodeId}'`,
          extra_info: {},
        },
        node_errors: [],
      });
    }
  }
  const g = graph as ComfyGraph;
  const outs = outputNodes(g);
  if (outs.length === 0) {
    return json(400, {
      error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} },
      node_errors: [],
    });
  }
  const extra: Record<string, unknown> = isObject(body.extra_data) ? { ...body.extra_data } : {};
  if ('client_id' in body) extra.client_id = body.client_id;
  queue.enqueue(number, id, g, extra, outs, {});
  return json(200, { prompt_id: id, number, node_errors: {} });
}

/** The job's id, or undefined when a current server refuses the one given. */
function promptIdOf(queue: PromptQueue, body: Record<string, unknown>): string | undefined {
  if (queue.api === 'legacy') return 'prompt_id' in body ? pyStr(body.prompt_id) : randomUUID(); // an explicit null is "None"
  const given = body.prompt_id;
  if (given === undefined || given === null) return randomUUID();
  return isValidJobId(given) ? given : undefined;
}
