// The time the wait hub reads and the timers it sets, as a port: the gateway passes the system's,
// tests pass one that moves only when told to, so a wait's polls, deadline, heartbeats and
// waited_seconds follow the test's steps rather than how busy the machine is.

/** A timer set by a Clock; only that clock's clearTimeout knows what it is. */
export type TimerHandle = { readonly __timer: unique symbol };

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Stops a timer that has not fired; a fired or stopped one is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real time and Node's timers. */
export function createSystemClock(): Clock {
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
    clearTimeout: (handle) => clearTimeout(handle as unknown as ReturnType<typeof setTimeout>),
  };
}
