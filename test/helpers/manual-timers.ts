// A Clock (src/jobs/clock.ts) whose time moves only when a test says so. Timers fire during
// advance(), in the order they fall due (ties in the order they were set), each at its own time,
// and the promise chains a timer starts settle before the next one fires, so a test steps a wait
// through its polls, heartbeats and deadline without sleeping.
import type { Clock, TimerHandle } from '../../src/jobs/clock.ts';

interface Timer {
  due: number;
  ms: number;
  fn: () => void;
}

export class ManualTimers implements Clock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(start = Date.parse('2026-11-01T12:00:00Z')) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { due: this.t + Math.max(0, ms), ms, fn });
    return id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as unknown as number);
  }

  /** The delays of the timers not yet fired, in the order they were set. */
  pending(): number[] {
    return [...this.timers.values()].map((timer) => timer.ms);
  }

  /**
   * Moves time `ms` forward, firing each timer due by then at its due time. Work a timer starts that
   * waits on I/O (an HTTP read) is not waited for: only promises that settle without it.
   */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, Timer] | undefined;
      for (const entry of this.timers) if (entry[1].due <= target && (!next || entry[1].due < next[1].due)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].due;
      next[1].fn();
    }
    this.t = target;
    await settle();
  }
}

/** Resolves after every promise callback already queued, and those they queue, has run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
