// What the backend contract suite (contract.test.ts) needs from each backend kind: a fixture that
// starts the kind's simulation in-process and builds adapters over it, with secrets in their config,
// and the hooks that put the simulation into each case the contract speaks about. A property that
// does not hold for a kind is declared here as a `Skip` with its reason, never left out silently.
import type { JobBackend } from '../../../src/jobs/backend.ts';
import type { CancelOutcome } from '../../../src/jobs/model.ts';
import type { Fault, SimRequest } from '../../../src/simulation/sim-server.ts';

/** Where each simulated server's request log stood (its length). */
export type RequestMark = readonly number[];

/** `mark` and `since` over the request logs of `servers`. */
export function requestLog(servers: ReadonlyArray<{ readonly requests: readonly SimRequest[] }>): Pick<ContractRig, 'mark' | 'since'> {
  return {
    mark: () => servers.map((s) => s.requests.length),
    since: (mark) => servers.flatMap((s, i) => s.requests.slice(mark[i])),
  };
}

/** `hang` and `failWith` over every simulated server of a rig. */
export function serverFaults(servers: ReadonlyArray<{ setFault(fault: Fault): void }>): Pick<ContractRig, 'hang' | 'failWith'> {
  return {
    hang: () => servers.forEach((s) => s.setFault({ kind: 'hang' })),
    failWith: (status, body) => servers.forEach((s) => s.setFault({ kind: 'status', status, body })),
  };
}

/** A property of the contract this kind does not have, and why. */
export interface Skip {
  readonly skip: { readonly reason: string };
}

export function isSkip(x: unknown): x is Skip {
  return typeof x === 'object' && x !== null && 'skip' in x;
}

/** The states the suite asks jobs in. */
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type TerminalState = Exclude<JobState, 'queued' | 'running'>;

export interface ContractFixture {
  /** What the suite's headings call it: the kind, and for a kind with several setups which one. */
  readonly label: string;
  /** A fresh simulation (on a manual clock) and what the suite may do with it; closed after each test. */
  start(): Promise<ContractRig>;
}

/** An answer the fixture made a read of `jobId` give: the record of `otherId`. */
export interface ForeignAnswer {
  jobId: string;
  otherId: string;
  /** Words of the other job's record (its status word, its texts) that must not reach the caller. */
  words: readonly string[];
  /** How many requests one read of `jobId` makes (all of them reads of the job), once the adapter knows where the job is. */
  reads: number;
  /** From now on, reads of `jobId` answer with the other job's record (the suite reads the job truly first). */
  install(): void;
}

export interface ContractRig {
  /** The credential value the adapters' config carries (a token, an API key, a proxy's header). */
  readonly secret: string;
  /** An adapter over the simulation, with `secret` in its config. Each call makes a new one (its own circuit breaker, state and budget). */
  adapter(options?: { timeoutMs?: number }): JobBackend;
  /** An adapter of the same config whose every URL is a loopback port nobody listens on. */
  unreachableAdapter(): Promise<JobBackend>;
  /** Where the simulated servers' request logs stand now. */
  mark(): RequestMark;
  /** The requests received since `mark`: each server's in the order it received them, server after server. */
  since(mark: RequestMark): SimRequest[];
  /** A request that changes something at the backend (a cancel, a delete, an interrupt). */
  isWrite(req: SimRequest): boolean;
  /** A request that reads the job (alone, or with others, as ComfyUI's /queue does). */
  isRead(req: SimRequest, jobId: string): boolean;

  /**
   * A job in `state`. The suite asks for each state at most once per test, but for `queued` (a
   * backend may run one job at a time: ComfyUI's host has one worker).
   */
  jobIn(state: JobState): string;
  /** What the simulation itself holds about the job now, in its own words: to see that nothing touched it. */
  stateOf(jobId: string): string;
  /** An id of the kind's format that the backend will never know. */
  unknownId(): string;
  /** A job of another tenant (organisation, project, user), which the backend does not show this one; or why there is none. */
  foreignJob(): string | Skip;
  /** What a first cancel answers for a queued and for a running job (terminal jobs: already_terminal). */
  readonly firstCancel: Readonly<Record<'queued' | 'running', CancelOutcome>>;
  /** Lets simulated time pass until every requested stop has happened (the backend's cooperative or asynchronous cancel). */
  settle(): void;
  /** Every server accepts each request and never answers. */
  hang(): void;
  /** Every server answers every request with `status` and `body`. */
  failWith(status: number, body: string): void;
  /** How the gateway's sentences name the backend at the start of a failure's message. */
  readonly failureMessageStart: RegExp;
  /**
   * A job of the fixture's choosing whose reads can be made to answer with another job's record; or
   * why a read's answer names no job (so no answer can be told to be about another one).
   */
  answerAboutAnotherJob(): Promise<ForeignAnswer | Skip>;
  /** The cancel of `jobId` is answered 2xx about another job (the read still answers truly); or why a cancel answer names no job. */
  cancelAnswerAboutAnotherJob(jobId: string): { otherId: string } | Skip;

  /**
   * Whether the kind lists its jobs. A kind whose API has no list route says so: its `list` must then
   * refuse with INVALID_ARGUMENT, saying it cannot list, and send nothing.
   */
  readonly lists: true | Skip;
  /** Creates a job newer than every job there is (the suite calls it between list pages). */
  addNewerJob(): string;
  /** Every job the backend holds now. */
  allJobIds(): string[];
  /**
   * Whether every listed job has a creation time. A kind whose listing holds jobs without one (they
   * sort first, as newest) says why.
   */
  readonly everyJobTimed: true | Skip;
  /** Whether a listing leaves out jobs created after its first page; a kind that may list them says why. */
  readonly listsOnlyJobsOfFirstPage: true | Skip;

  close(): Promise<void>;
}
