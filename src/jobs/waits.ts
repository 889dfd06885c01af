// Waiting for a job to change (get_job_status and cancel_job with wait_seconds). However many calls
// wait on one job, one poller per job reads it from the backend once per interval (the interval its
// project is read at, which the wait request carries) and hands every report to all its waiters. Coalescing is per gateway process: two
// replicas each poll for their own waiters. A waiter ends on a change (or at terminal, for a cancel
// being confirmed), at its deadline, when its call is aborted, or when the gateway shuts down.
// Every time and timer comes from the injected clock (./clock.ts), so tests step a wait instead of sleeping.
//
// A replica protects itself: it holds at most `maxConcurrent` waits (each holds a client connection,
// one file descriptor, and its heap), and one failed read of a job does not end its waiters. A read
// that fails for a reason that may pass (BACKEND_UNAVAILABLE, RATE_LIMITED, a local fault such as
// EMFILE or a reset) is retried at the next interval; only FAILED_READS_BEFORE_ERROR failures in a row
// end the job's waiters with the error. A waiter whose deadline comes during such a run answers with
// the latest report it has (changed: false), or with the error when it has none.
import { readFileSync } from 'node:fs';
import { GatewayUnavailable, isBackendError } from './backend-error.ts';
import type { Clock, TimerHandle } from './clock.ts';
import { isTerminal, type JobStatus, type JobStatusReport } from './model.ts';

export interface WaitConfig {
  /** Longest wait a call gets; longer requests are shortened to it. */
  maxSeconds: number;
  /** Time between two heartbeats of one wait. */
  heartbeatSeconds: number;
  /** Concurrent waits one caller may hold. */
  maxPerCaller: number;
  /** Concurrent waits this process holds, all callers together (default: maxConcurrentWaitsFor the fd limit). */
  maxConcurrent?: number | undefined;
}

/**
 * The longest wait any setting allows (a week): a task's wait (waits.task_max_seconds) at most, and
 * the bound wait_seconds is parsed within before it is shortened to the maximum that applies.
 */
export const LONGEST_WAIT_SECONDS = 604_800;

/** Consecutive failed reads of one job (of a kind that may pass) that end its waiters with the error. */
export const FAILED_READS_BEFORE_ERROR = 3;

/** File descriptors kept for everything but waits: listeners, backend and Redis sockets, logs, plain calls. */
const RESERVED_FDS = 256;
/**
 * The most waits the default allows: what one replica holds in the chart's 512 Mi with room to spare,
 * measured with heartbeats (10,000 held at about 350 to 375 MiB of RSS; docs/performance.md).
 */
export const MAX_CONCURRENT_WAITS_CEILING = 10_000;

/**
 * The default process-wide wait limit for a soft open-files limit: every wait holds one client
 * socket, and as many descriptors again are left for the backend reads and plain calls made
 * meanwhile, after RESERVED_FDS for the rest: clamp(floor((nofile - 256) / 2), 16, 10,000).
 * 1024 gives 384; 20,256 and more give 10,000.
 */
export function maxConcurrentWaitsFor(openFiles: number | undefined): number {
  const fds = openFiles !== undefined && openFiles > 0 ? openFiles : 1024;
  return Math.min(MAX_CONCURRENT_WAITS_CEILING, Math.max(16, Math.floor((fds - RESERVED_FDS) / 2)));
}

/** The soft limit on open files of this process (Linux: /proc/self/limits); undefined when unknown. */
export function readOpenFilesLimit(read: (path: string) => string = (path) => readFileSync(path, 'utf8')): number | undefined {
  try {
    const line = read('/proc/self/limits')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
    const n = Number(soft);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The wait settings of the config (`waits`, whose schema holds the defaults); poll intervals travel with each project. */
export function waitConfigOf(
  w: { max_seconds: number; heartbeat_seconds: number; max_per_caller: number; max_concurrent?: number | undefined },
  openFiles: () => number | undefined = readOpenFilesLimit,
): WaitConfig {
  return {
    maxSeconds: w.max_seconds,
    heartbeatSeconds: w.heartbeat_seconds,
    maxPerCaller: w.max_per_caller,
    maxConcurrent: w.max_concurrent ?? maxConcurrentWaitsFor(openFiles()),
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

/** A look at a job that holds no request open (a task's poll): which job, how often it may be read, and how. */
export interface LookRequest {
  key: string;
  pollIntervalMs: number;
  read(signal: AbortSignal): Promise<JobStatusReport>;
}

/**
 * The job's latest read, at most one interval old; or the latest read's failure, `final` when a wait
 * would end with it (it will not pass, or FAILED_READS_BEFORE_ERROR failed in a row), with the last
 * report a read did give (what a wait that reaches its deadline meanwhile answers with).
 */
export type Look =
  { readonly report: JobStatusReport } | { readonly error: unknown; readonly final: boolean; readonly latest: JobStatusReport | undefined };

export interface WaitResult {
  report: JobStatusReport;
  changed: boolean;
  waitedSeconds: number;
}

/** A wait slot taken, or why not and when one frees at the latest (whole seconds, at least 1). */
export type WaitSlot = { release: () => void } | { refused: 'caller' | 'process'; retryAfterSeconds: number };

export interface WaitHub {
  /** Seconds a call asking for `requested` gets (the configured maximum at most). */
  clamp(requested: number): number;
  /**
   * Takes a wait slot for a wait of `seconds` (0: unknown) by `caller`: refused when the caller holds
   * its maximum, or when the process holds its own.
   */
  take(caller: string, seconds?: number): WaitSlot;
  /** take() without the reason: the slot's release, or undefined when refused. */
  enter(caller: string, seconds?: number): (() => void) | undefined;
  /** Waits held now, all callers together. */
  held(): number;
  /** Waits; rejects with the backend's error, or with the signal's reason when aborted. */
  wait(request: WaitRequest): Promise<WaitResult>;
  /**
   * The job as last read, when that read is less than one interval old (a waiter's poller's, or an
   * earlier look's); else one read, shared by every look that comes while it is in flight. So however
   * many tasks poll one job, and however fast, it is read at most once per interval in this process.
   */
  look(request: LookRequest): Promise<Look>;
  /** Ends every wait at once with the latest report (shutdown); later waits fail. */
  close(): void;
}

interface Waiter {
  deliver(report: JobStatusReport): void;
  /** A read failed; `final`: the job's waiters end with it, else only one past its deadline with no report. */
  fail(error: unknown, final: boolean): void;
  /** Shutdown: answer now. */
  end(): void;
}

interface Poller {
  waiters: Set<Waiter>;
  last: JobStatusReport | undefined;
  /** When `last` was read (clock ms). */
  lastAt: number;
  abort: AbortController;
  /** The next read's timer, set when a read starts. */
  timer: TimerHandle | undefined;
  /** A read is in flight. */
  reading: boolean;
  /** The interval ended while a read was in flight: the next read starts when it ends. */
  due: boolean;
  /** Failed reads in a row (of a kind that may pass). */
  failures: number;
  /** Counts the reports delivered: a newer one stops the slices of the one before. */
  generation: number;
}

interface Delivery {
  poller: Poller;
  generation: number;
  hand: (w: Waiter) => void;
  waiters: Waiter[];
  next: number;
}

/** Waiters the hub hands an outcome to in one turn of the event loop, all jobs together. */
export const DELIVERY_SLICE = 50;

/** A failure a later read may not have: the backend unavailable or busy, or a local fault (EMFILE, a reset). */
function mayPass(e: unknown): boolean {
  return !isBackendError(e) || e.code === 'BACKEND_UNAVAILABLE' || e.code === 'RATE_LIMITED';
}

/** Jobs whose latest look is remembered (oldest out first); a look older than its interval reads again. */
export const LOOKS_KEPT = 10_000;

/** What the hub remembers of a job's looks: the latest outcome and when it came, or the read in flight. */
interface LookEntry {
  look: Look | undefined;
  at: number;
  /** The last report a read gave. */
  latest: JobStatusReport | undefined;
  /** Failed reads in a row (of a kind that may pass). */
  failures: number;
  reading: Promise<Look> | undefined;
}

interface Slot {
  /** When the wait ends at the latest (ms on the clock); Infinity when unknown. */
  until: number;
}

export function createWaitHub(config: WaitConfig, clock: Clock): WaitHub {
  const pollers = new Map<string, Poller>();
  const perCaller = new Map<string, Set<Slot>>();
  const all = new Set<Slot>();
  const maxConcurrent = config.maxConcurrent ?? maxConcurrentWaitsFor(undefined);
  let closed = false;
  // Insertion order is age order: a job looked at again moves to the end, and the oldest leaves first.
  const looks = new Map<string, LookEntry>();
  const looksAbort = new AbortController();
  /** Outcomes not yet handed to all their waiters, oldest first, and the waiters handed one this turn. */
  const queue: Delivery[] = [];
  let handed = 0;
  let turnEnds = false;

  /** Whole seconds until the first of `slots` ends at the latest (at least 1; the longest wait when unknown). */
  function retryAfter(slots: Iterable<Slot>): number {
    let first = Number.POSITIVE_INFINITY;
    for (const slot of slots) if (slot.until < first) first = slot.until;
    const ms = Number.isFinite(first) ? first - clock.now() : config.maxSeconds * 1000;
    return Math.max(1, Math.ceil(ms / 1000));
  }

  function startPoller(request: WaitRequest): Poller {
    const poller: Poller = {
      waiters: new Set(),
      last: undefined,
      lastAt: 0,
      abort: new AbortController(),
      timer: undefined,
      reading: false,
      due: false,
      failures: 0,
      generation: 0,
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
        poller.lastAt = clock.now();
        poller.failures = 0;
        inSlices(poller, (w) => w.deliver(report));
      } catch (e) {
        if (poller.abort.signal.aborted) return;
        // One failure that may pass is retried at the next interval; a run of them, or one that will
        // not pass (the backend refuses the gateway's credentials), ends every waiter with the
        // backend's error, as a plain read would.
        poller.failures++;
        const final = !mayPass(e) || poller.failures >= FAILED_READS_BEFORE_ERROR;
        inSlices(poller, (w) => w.fail(e, final));
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

  function take(caller: string, seconds = 0): WaitSlot {
    const mine = perCaller.get(caller);
    if (mine && mine.size >= config.maxPerCaller) return { refused: 'caller', retryAfterSeconds: retryAfter(mine) };
    if (all.size >= maxConcurrent) return { refused: 'process', retryAfterSeconds: retryAfter(all) };
    const slot: Slot = { until: seconds > 0 ? clock.now() + seconds * 1000 : Number.POSITIVE_INFINITY };
    const set = mine ?? new Set<Slot>();
    if (!mine) perCaller.set(caller, set);
    set.add(slot);
    all.add(slot);
    return {
      release: () => {
        if (!all.delete(slot)) return;
        set.delete(slot);
        if (set.size === 0 && perCaller.get(caller) === set) perCaller.delete(caller);
      },
    };
  }

  /**
   * Hands a read's outcome to every waiter of the poller. All pollers share one queue and one budget
   * of DELIVERY_SLICE waiters per turn of the event loop (setImmediate between turns: no time passes,
   * so the clock is not involved), so that a change reaching 10,000 waiters, or many jobs' reads
   * landing together, never hold the loop for long with the replies they end. A waiter gone
   * meanwhile is skipped; a newer outcome (or the poller's end) drops an older one still queued.
   */
  function inSlices(poller: Poller, hand: (w: Waiter) => void): void {
    queue.push({ poller, generation: ++poller.generation, hand, waiters: [...poller.waiters], next: 0 });
    drain();
  }

  function drain(): void {
    while (queue.length > 0 && handed < DELIVERY_SLICE) {
      const d = queue[0]!;
      if (d.poller.abort.signal.aborted || d.poller.generation !== d.generation) {
        queue.shift();
        continue;
      }
      while (d.next < d.waiters.length && handed < DELIVERY_SLICE) {
        const w = d.waiters[d.next++]!;
        if (!d.poller.waiters.has(w)) continue;
        handed++;
        d.hand(w);
      }
      if (d.next >= d.waiters.length) queue.shift();
    }
    if (handed > 0 && !turnEnds) {
      turnEnds = true;
      setImmediate(() => {
        turnEnds = false;
        handed = 0;
        drain();
      });
    }
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
    enter(caller, seconds) {
      const slot = take(caller, seconds);
      return 'release' in slot ? slot.release : undefined;
    },
    take,
    held: () => all.size,
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
          fail(error, final) {
            // Past the deadline with no report to answer with: the error is the answer.
            if (final || expired) finish({ error });
          },
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
    look(request) {
      const now = clock.now();
      const poller = pollers.get(request.key);
      if (poller?.last && now - poller.lastAt < request.pollIntervalMs) return Promise.resolve({ report: poller.last });
      const entry = looks.get(request.key);
      if (entry?.reading) return entry.reading;
      if (entry?.look && now - entry.at < request.pollIntervalMs) return Promise.resolve(entry.look);
      if (closed) return Promise.resolve({ error: shuttingDown(), final: true, latest: entry?.latest });
      const held: LookEntry = {
        look: entry?.look,
        at: entry?.at ?? now,
        latest: entry?.latest,
        failures: entry?.failures ?? 0,
        reading: undefined,
      };
      held.reading = request.read(looksAbort.signal).then(
        (report): Look => ({ report }),
        (e: unknown): Look => {
          held.failures++;
          return { error: e, final: !mayPass(e) || held.failures >= FAILED_READS_BEFORE_ERROR, latest: held.latest };
        },
      );
      held.reading = held.reading.then((look) => {
        if ('report' in look) {
          held.failures = 0;
          held.latest = look.report;
        }
        held.look = look;
        held.at = clock.now();
        held.reading = undefined;
        return look;
      });
      looks.delete(request.key);
      looks.set(request.key, held);
      if (looks.size > LOOKS_KEPT) looks.delete(looks.keys().next().value!);
      return held.reading;
    },
    close() {
      closed = true;
      looksAbort.abort();
      for (const poller of [...pollers.values()]) for (const w of [...poller.waiters]) w.end();
    },
  };
}

function shuttingDown(): GatewayUnavailable {
  return new GatewayUnavailable('The gateway is shutting down; ask again');
}
