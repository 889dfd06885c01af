// One read of a host's answer shared by every call that needs it at that moment (single-flight), so
// memory does not grow with the number of callers: a legacy host's /queue can be 32 MiB of JSON, and
// each caller downloading and parsing its own copy took a replica past its memory limit
// (docs/performance.md, "Shared reads of a legacy host's queue and history").
//
// The freshness rule: a call is only ever given the answer of a read that *started after the call
// arrived*. A call that arrives while a read is in flight does not join it (that read may have been
// answered from the host's state before the call came: a job submitted or cancelled just before the
// call would be missing or still queued); it joins the next read, which starts as soon as the one in
// flight settles. So per key at most one read is in flight and at most one more is waiting to start,
// however many calls come, and every answer is at least as fresh as a read the call started itself.
// Nothing is kept once a read settles: the next call starts a new read.
//
// A caller's abort ends only its own wait. The read runs under the pool's lifetime signal, not any
// caller's; it is aborted when the last caller waiting for it has left (its answer is then of use to
// nobody), and a read waiting to start is dropped when its last caller leaves.

/** A read of one key's answer; `signal` aborts when the read is no longer wanted. */
export type ReadAnswer<K, T> = (key: K, signal: AbortSignal) => Promise<T>;

/**
 * Shared reads, keyed. The answer `T` is shared between callers: it must be a readonly type, so no
 * caller can change what another sees.
 */
export interface SharedReads<K, T> {
  /** The answer of a read started at or after this call, shared with every call waiting for that same read. */
  read(key: K, signal: AbortSignal): Promise<T>;
  /** Reads started so far (to measure sharing). */
  readonly started: number;
  /** Keys with a read in flight or waiting to start (bounded by the callers waiting: nothing outlives its read). */
  readonly keys: number;
}

interface Flight<T> {
  readonly promise: Promise<T>;
  readonly resolve: (v: T) => void;
  readonly reject: (e: unknown) => void;
  readonly stop: AbortController;
  waiters: number;
}

interface Slot<T> {
  running: Flight<T> | undefined;
  next: Flight<T> | undefined;
}

export function createSharedReads<K, T>(readAnswer: ReadAnswer<K, T>, lifetime: AbortSignal): SharedReads<K, T> {
  const slots = new Map<K, Slot<T>>();
  let started = 0;

  function flight(): Flight<T> {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {}); // its waiters see the error; a read nobody waits for any more is not an unhandled rejection
    return { promise, resolve, reject, stop: new AbortController(), waiters: 0 };
  }

  function start(key: K, slot: Slot<T>, f: Flight<T>): void {
    slot.running = f;
    started++;
    let answer: Promise<T>;
    try {
      answer = readAnswer(key, AbortSignal.any([lifetime, f.stop.signal]));
    } catch (e) {
      answer = Promise.reject(e);
    }
    answer.then(f.resolve, f.reject).finally(() => {
      slot.running = undefined;
      const next = slot.next;
      slot.next = undefined;
      if (next && next.waiters > 0) start(key, slot, next);
      else slots.delete(key);
    });
  }

  function wait(key: K, slot: Slot<T>, f: Flight<T>, signal: AbortSignal): Promise<T> {
    f.waiters++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        if (--f.waiters > 0) return;
        if (slot.running === f) f.stop.abort(signal.reason);
        else if (slot.next === f) {
          slot.next = undefined;
          if (!slot.running) slots.delete(key);
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      f.promise.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  return {
    read(key, signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      let slot = slots.get(key);
      if (!slot) {
        slot = { running: undefined, next: undefined };
        slots.set(key, slot);
      }
      if (!slot.running) {
        const f = flight();
        const waiting = wait(key, slot, f, signal);
        start(key, slot, f);
        return waiting;
      }
      slot.next ??= flight();
      return wait(key, slot, slot.next, signal);
    },
    get started() {
      return started;
    },
    get keys() {
      return slots.size;
    },
  };
}
