// Small pieces shared by the adapter tests.
import { isBackendError } from '../../src/jobs/backend-error.ts';
import type { Clock } from '../../src/simulation/clock.ts';

/** A call context whose signal never aborts. */
export const ctx = () => ({ signal: new AbortController().signal });

/** A clock that moves forward every time the simulation reads it: each request sees a later time. */
export class TickingClock implements Clock {
  t = Date.parse('2026-11-01T12:00:00Z');
  step: number;
  constructor(step: number) {
    this.step = step;
  }
  now(): number {
    const v = this.t;
    this.t += this.step;
    return v;
  }
}

/** The BackendError code a call fails with ('resolved' when it does not fail). */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isBackendError(e) ? e.code : `not a BackendError: ${String(e)}`;
  }
}
