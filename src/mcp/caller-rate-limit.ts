// The budget of messages per caller (issuer + subject; everyone is one caller without
// authentication), so one runaway agent cannot flood the backends that every other agent shares. It
// lives in the state store: with `store: redis` one caller has one budget across every replica. A
// refused call is the RATE_LIMITED tool error with the seconds until a call is allowed again.
//
// `per_second` and `burst` describe a token bucket; rate-limiter-flexible counts in fixed windows, so
// the budget is a BurstyRateLimiter of two windows, the same on memory and on Redis:
//   - the steady rate: ceil(per_second) calls per ceil(per_second) / per_second seconds (at least
//     1 s: a window under a second could not expire on Redis), so per_second calls a second;
//   - the burst: the calls beyond those, burst - ceil(per_second), per burst / per_second seconds,
//     the time a token bucket takes to refill from empty; used only when the steady window is spent.
// A caller that never pauses gets at most per_second + (burst - per_second) x per_second / burst calls
// a second (36 with the defaults 20 and 100), and at most `burst` at once.
// A burst no larger than one steady window is a single window of `burst` calls per burst / per_second s.
import { BurstyRateLimiter, RateLimiterRes } from 'rate-limiter-flexible';
import type { Limiter, StateStore } from '../state/store.ts';

export interface CallerRateLimit {
  /**
   * Takes `points` (default one) from this caller's budget; resolves to 0 when granted, else whole
   * seconds to wait. More points than one window can ever grant (a fan-out over more hosts than the
   * burst) take the most a window grants, so such a call is possible at all.
   */
  take(caller: string, points?: number): Promise<number>;
}

export function createCallerRateLimit(store: StateStore, options: { perSecond: number; burst: number }): CallerRateLimit {
  const { perSecond, burst } = options;
  const steadyPoints = Math.ceil(perSecond);
  let limiter: Pick<Limiter, 'consume'>;
  let most: number;
  if (burst <= steadyPoints) {
    most = burst;
    limiter = store.limiter({ name: 'caller', points: burst, duration: Math.max(1, burst / perSecond) });
  } else {
    const steady = store.limiter({ name: 'caller', points: steadyPoints, duration: steadyPoints / perSecond });
    const extra = store.limiter({ name: 'caller-burst', points: burst - steadyPoints, duration: Math.max(1, burst / perSecond) });
    limiter = new BurstyRateLimiter(steady as never, extra as never);
    most = Math.max(steadyPoints, burst - steadyPoints);
  }
  return {
    async take(caller, points = 1) {
      try {
        await limiter.consume(caller, Math.min(points, most));
        return 0;
      } catch (e) {
        if (e instanceof RateLimiterRes) return Math.max(1, Math.ceil(e.msBeforeNext / 1000));
        return 0; // not a refusal: the limiter itself failed, and a broken limiter must not refuse calls
      }
    },
  };
}
