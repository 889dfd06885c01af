// ComfyUI job ids are prompt ids. Newer servers accept only a canonical lowercase UUID; servers
// from before that check took any string a client sent (`str(json_data.get("prompt_id", uuid4()))`)
// and run the job under it verbatim, so "render-42" or an uppercase UUID can name a job on an older
// host. Such ids are taken as they are (never case-folded: ComfyUI compares ids exactly) and reach
// URLs only as one percent-encoded path segment. Refused: what no JSON client could have sent
// (broken UTF-16), what a URL path cannot name ("." and ".."), control characters and line breaks
// (they would break log lines), and ids past the gateway's usual length limit.
import { CANONICAL_UUID, SAFE_JOB_ID } from '../../jobs/backend.ts';

/** The same limit as the other backends' free-form ids. */
export const MAX_PROMPT_ID_LENGTH = SAFE_JOB_ID.maxLength;

const UNPAIRED_SURROGATE = /\p{Cs}/u;
const CONTROL_OR_LINE_BREAK = /[\p{Cc}\p{Zl}\p{Zp}]/u;

/** Whether the id has the only form newer ComfyUI servers accept. */
export function isCanonicalPromptId(id: string): boolean {
  return CANONICAL_UUID.test(id);
}

/**
 * Whether a host's web server can route a path naming the id: aiohttp's path parameter pattern is
 * [^{}/]+, matched on the decoded segment, so an id with "{" or "}" (which an older server accepts from
 * POST /prompt) can never be named in a path. A "/" travels percent-encoded, within its one segment.
 */
export function isRoutable(id: string): boolean {
  return !/[{}]/.test(id);
}

/** `JobBackend.validateJobId` for ComfyUI: a sentence saying what is wrong, or null. */
export function validatePromptId(id: string): string | null {
  if (typeof id !== 'string' || id.length === 0) return 'The job id is empty.';
  if (id.length > MAX_PROMPT_ID_LENGTH) return `A ComfyUI prompt id is at most ${MAX_PROMPT_ID_LENGTH} characters long.`;
  if (isCanonicalPromptId(id)) return null;
  if (UNPAIRED_SURROGATE.test(id))
    return 'A ComfyUI prompt id is text, and this one contains a broken character (an unpaired UTF-16 surrogate).';
  if (CONTROL_OR_LINE_BREAK.test(id)) return 'A ComfyUI prompt id cannot contain control characters or line breaks.';
  if (id === '.' || id === '..') return 'A ComfyUI prompt id cannot be "." or "..": a URL path cannot name it.';
  return null;
}
