// Waiting for a job to change (get_job_status and cancel_job with wait_seconds). However many calls
// wait on one job, one poller per job reads it from the backend once per interval (the interval its
// project is read at, which the wait request carries) and hands every report to all its waiters. Coalescing is per gateway process: two
// replicas each poll for their own waiters. A waiter ends on a change (or at terminal, for a cancel
// being confirmed), at its deadline, when its call is aborted, or when the gateway shuts down.
// Every time and timer comes from the injected clock (./clock.ts), so tests step a wait instead of sleeping.
import { GatewayUnavailable } from './backend-error.ts';
import type { Clock, TimerHandle } from './clock.ts';
import { isTerminal, type JobStatus, type JobStatusReport } from './model.ts';

export interface WaitConfig {
  /** Longest wait a call gets; longer requests are shortened to it. */
  maxSeconds: number;
  /** Time between two heartbeats of one wait. */
  heartbeatSeconds: number;
  /** Concurrent waits one caller may hold. */
  maxPerCaller: number;
}

/** The wait settings of the config (`waits`, whose schema holds the defaults); poll intervals travel with each project. */
export function waitConfigOf(w: { max_seconds: number; heartbeat_seconds: number; max_per_caller: number }): WaitConfig {
  return {
    maxSeconds: w.max_seconds,
    heartbeatSeconds: w.heartbeat_seconds,
    maxPerCaller: w.max_per_caller,
  };
}

/** What a waiter's heartbeat says: the latest report (undefined before the first read) and time waited. */
export interface WaitHeartbeat {
  report: JobStatusReport | undefined;
  waitedSeconds: number;
  totalSeconds: number;
}

export interface WaitRequest {
  /** The job's key: the same job of the same backend gets the same key. */
  key: string;
  /** Time between two reads of the job (its project's interval); the first waiter's holds while others join. */
  pollIntervalMs: number;
  /** Reads the job once; called by the job's poller, never with a caller's signal. */
  read(signal: AbortSignal): Promise<JobStatusReport>;
  /** 'change': ends when the status differs from `known` (or the first status seen) or is terminal; 'terminal': only at terminal. */
  until: 'change' | 'terminal';
  known?: JobStatus | undefined;
  seconds: number;
  signal: AbortSignal;
  onHeartbeat?: ((beat: WaitHeartbeat) => void) | undefined;
}

export interface WaitResult {
  report: JobStatusReport;
  changed: boolean;
  waitedSeconds: number;
}

export interface WaitHub {
  /** Seconds a call asking for `requested` gets (the configured maximum at most). */
  clamp(requested: number): number;
  /** Takes one of the caller's wait slots; undefined when the caller holds its maximum. */
  enter(caller: string): (() => void) | undefined;
  /** Waits; rejects with the backend's error, or with the signal's reason when aborted. */
  wait(request: WaitRequest): Promise<WaitResult>;
  /** Ends every wait at once with the latest report (shutdown); later waits fail. */
  close(): void;
}

interface Waiter {
  deliver(report: JobStatusReport): void;
  fail(error: unknown): void;
  /** Shutdown: answer now. */
  end(): void;
}

interface Poller {
  waiters: Set<Waiter>;
  last: JobStatusReport | undefined;
  abort: AbortController;
  /** The next read's timer, set when a read starts. */
  timer: TimerHandle | undefined;
  /** A read is in flight. */
  reading: boolean;
  /** The interval ended while a read was in flight: the next read starts when it ends. */
  due: boolean;
}

export function createWaitHub(config: WaitConfig, clock: Clock): WaitHub {
  const pollers = new Map<string, Poller>();
  const perCaller = new Map<string, number>();
  let closed = false;

  function startPoller(request: WaitRequest): Poller {
    const poller: Poller = {
      waiters: new Set(),
      last: undefined,
      abort: new AbortController(),
      timer: undefined,
      reading: false,
      due: false,
    };
    pollers.set(request.key, poller);
    const intervalMs = request.pollIntervalMs;
    const poll = async () => {
      poller.timer = undefined;
      if (poller.reading) {
        poller.due = true;
        return;
      }
      poller.reading = true;
      // The next read starts one interval after this one starts (or when this one ends, if slower),
      // and its timer is set now: the schedule depends on the clock alone, never on the read's speed.
      poller.timer = clock.setTimeout(() => void poll(), intervalMs);
      try {
        const report = await request.read(poller.abort.signal);
        if (poller.abort.signal.aborted) return;
        poller.last = report;
        for (const w of [...poller.waiters]) w.deliver(report);
      } catch (e) {
        if (poller.abort.signal.aborted) return;
        // The job's state is unknown: every waiter gets the backend's error, as a plain read would.
        for (const w of [...poller.waiters]) w.fail(e);
      } finally {
        poller.reading = false;
      }
      if (poller.waiters.size === 0 || !poller.due) return;
      poller.due = false;
      void poll();
    };
    void poll();
    return poller;
  }

  function leave(key: string, poller: Poller, waiter: Waiter) {
    poller.waiters.delete(waiter);
    if (poller.waiters.size > 0) return;
    // Nobody waits any more: stop reading the job.
    if (poller.timer) clock.clearTimeout(poller.timer);
    poller.abort.abort();
    if (pollers.get(key) === poller) pollers.delete(key);
  }

  return {
    clamp: (requested) => Math.min(Math.max(0, requested), config.maxSeconds),
    enter(caller) {
      const held = perCaller.get(caller) ?? 0;
      if (held >= config.maxPerCaller) return undefined;
      perCaller.set(caller, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const n = (perCaller.get(caller) ?? 1) - 1;
        if (n <= 0) perCaller.delete(caller);
        else perCaller.set(caller, n);
      };
    },
    wait(request) {
      if (closed) return Promise.reject(shuttingDown());
      if (request.signal.aborted) return Promise.reject(request.signal.reason);
      return new Promise<WaitResult>((resolve, reject) => {
        const started = clock.now();
        const waited = () => Math.round((clock.now() - started) / 10) / 100;
        let baseline = request.known;
        let latest: JobStatusReport | undefined;
        let expired = false;
        let poller = pollers.get(request.key);

        const finish = (ending: { report: JobStatusReport; changed: boolean } | { error: unknown }) => {
          clock.clearTimeout(deadline);
          clock.clearTimeout(heartbeat);
          request.signal.removeEventListener('abort', onAbort);
          leave(request.key, poller!, waiter);
          if ('error' in ending) reject(ending.error);
          else resolve({ ...ending, waitedSeconds: waited() });
        };
        const waiter: Waiter = {
          deliver(report) {
            latest = report;
            baseline ??= report.status;
            const changed = report.status !== baseline;
            const done = request.until === 'terminal' ? isTerminal(report.status) : changed || isTerminal(report.status);
            if (done || expired) finish({ report, changed });
          },
          fail: (error) => finish({ error }),
          end: () => (latest ? finish({ report: latest, changed: false }) : finish({ error: shuttingDown() })),
        };
        const onAbort = () => finish({ error: request.signal.reason });
        request.signal.addEventListener('abort', onAbort, { once: true });
        // At the deadline the latest report is the answer; before the first read it is the next one.
        const deadline = clock.setTimeout(() => {
          expired = true;
          if (latest) finish({ report: latest, changed: false });
        }, request.seconds * 1000);
        // Beats fall on whole heartbeat intervals from the start; one that comes late never moves the
        // next ones, and beats a busy process missed are skipped, not sent in a burst.
        const beatMs = config.heartbeatSeconds * 1000;
        let beat = 0;
        const nextBeat = (): TimerHandle => {
          beat = Math.max(beat + 1, Math.floor((clock.now() - started) / beatMs) + 1);
          return clock.setTimeout(
            () => {
              heartbeat = nextBeat();
              request.onHeartbeat?.({ report: latest, waitedSeconds: waited(), totalSeconds: request.seconds });
            },
            started + beat * beatMs - clock.now(),
          );
        };
        let heartbeat = nextBeat();

        if (!poller) poller = startPoller(request);
        poller.waiters.add(waiter);
        // A job already being read: its latest report is at most one interval old.
        if (poller.last) waiter.deliver(poller.last);
      });
    },
    close() {
      closed = true;
      for (const poller of [...pollers.values()]) for (const w of [...poller.waiters]) w.end();
    },
  };
}

function shuttingDown(): GatewayUnavailable {
  return new GatewayUnavailable('The gateway is shutting down; ask again');
}
