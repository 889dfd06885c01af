// Time for the simulations. They derive job states from the clock when asked (no timers), so a
// test can hold time still or move it forward, and an idle sandbox costs nothing.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start = Date.parse('2026-11-01T12:00:00Z')) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
