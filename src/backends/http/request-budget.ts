// A backend's request budget: ComfyControl's (docs/backends.md) and an http_jobs profile's
// `rate_limit`. ComfyControl's Cloudflare refuses more than `requests` per `per_seconds` from one IP, counted over a sliding window, and then imposes a
// cooldown. The budget lives in the state store, so with `store: redis` every replica spends one
// budget and a 429 seen by one replica pauses them all.
//
// rate-limiter-flexible counts in fixed windows, and a fixed window lets up to twice its points
// through around a window boundary. So the budget is `requests` slots, each a limiter of ONE request
// per window of per_seconds + 0.5 s (the margin covers the network delay between taking a slot and
// Cloudflare counting the request). A request takes the slot after the previous request's (a shared
// turn counter, another limiter key); the slot is free only when the request that took it `requests`
// turns earlier is a full window old. Each slot carries at most one request per window, so no window
// of per_seconds ever sees more than `requests`, whatever the timing and the number of replicas. The
// whole budget is usable: `requests` at once, then one more each time the oldest leaves the window.
// A 429 sets the turn counter past COOLDOWN for the wait ComfyControl asked for: each request reads
// the counter first, so every replica waits it out without calling; then the budget starts afresh.
// The waits it names (retry_after_seconds) are the limiter's msBeforeNext: rate-limiter-flexible's
// time, the global Date (src/state/store.ts), which tests move together with the simulation's clock.
import { RateLimiterRes } from 'rate-limiter-flexible';
import { BackendError } from '../../jobs/backend-error.ts';
import type { StateStore } from '../../state/store.ts';

/** The gateway's clock and Cloudflare's differ by the network delay; keep this much extra room in the window. */
export const WINDOW_MARGIN_S = 0.5;
/** Turn counts at or above this mean "cooling down after a 429". */
const COOLDOWN = 2 ** 50;
const TURN_KEY = 'turn';

export interface RequestBudget {
  /** Takes `n` requests (at most `requests`) from the budget, or throws RATE_LIMITED without taking any. */
  take(n: number): Promise<void>;
  /** The backend answered 429: every replica waits `seconds` before calling it again. */
  cooldown(seconds: number): Promise<void>;
}

export function createRequestBudget(
  store: StateStore,
  options: { name: string; requests: number; perSeconds: number; /** Its keys in the store: the kind's name. */ kind: string },
): RequestBudget {
  const { name, requests, perSeconds, kind } = options;
  const turns = store.limiter({ name: `${kind}:${name}:turn`, points: Number.MAX_SAFE_INTEGER, duration: 0 });
  const slots = store.limiter({ name: `${kind}:${name}:slot`, points: 1, duration: perSeconds + WINDOW_MARGIN_S });

  return {
    async take(n) {
      const counted = await guard(name, turns.consume(TURN_KEY, n));
      const turn = counted.consumedPoints;
      if (turn >= COOLDOWN) {
        const s = Math.max(1, Math.ceil(counted.msBeforeNext / 1000));
        throw new BackendError(
          'RATE_LIMITED',
          `Backend "${name}" answered 429 recently; the gateway waits ${s} s before calling it again, so retry after ${s} s.`,
          { retryAfterSeconds: s },
        );
      }
      const mine = Array.from({ length: n }, (_, i) => String((turn - i) % requests));
      const results = await Promise.allSettled(mine.map((slot) => slots.consume(slot)));
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (refused.length === 0) return;
      // Nothing is sent: free the slots this call did get (a new window starts at their next use) and
      // hand the turns back, so the next request waits for the same, oldest slot.
      await Promise.allSettled([
        ...mine.filter((_, i) => results[i]!.status === 'fulfilled').map((slot) => slots.delete(slot)),
        turns.reward(TURN_KEY, n),
      ]);
      const waitMs = Math.max(...refused.map((r) => (r instanceof RateLimiterRes ? r.msBeforeNext : 1000)));
      const s = Math.max(1, Math.ceil(waitMs / 1000));
      throw new BackendError(
        'RATE_LIMITED',
        `The gateway's request budget for backend "${name}" (${requests} requests per ${perSeconds} s, ComfyControl's limit) is spent; retry in ${s} s.`,
        {
          retryAfterSeconds: s,
        },
      );
    },
    async cooldown(seconds) {
      await guard(name, turns.set(TURN_KEY, COOLDOWN, Math.max(1, Math.ceil(seconds))));
      // ComfyControl counts afresh after its cooldown (as documented: the limit, then the cooldown),
      // so the requests sent before it no longer hold slots. A 429 is rare; one delete per slot is cheap.
      await Promise.allSettled(Array.from({ length: requests }, (_, i) => slots.delete(String(i))));
    },
  };
}

/** A limiter that fails outright (not a refusal) must not pass for an allowed request. */
async function guard(name: string, op: Promise<RateLimiterRes>): Promise<RateLimiterRes> {
  try {
    return await op;
  } catch (e) {
    if (e instanceof RateLimiterRes) return e;
    throw new BackendError('BACKEND_UNAVAILABLE', `The gateway could not check its request budget for backend "${name}"; retry shortly.`, {
      cause: e,
    });
  }
}
