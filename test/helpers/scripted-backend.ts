// A JobBackend whose answers a test scripts, for tests of the job service without HTTP: per job the
// answers of its reads and of its cancels, and the pages of its listing. Each answer is a report, an
// error to throw (a BackendError of any code, or anything else), or HANG: the call then waits until
// its signal aborts and rejects with the signal's reason. Every call is logged with its signal.
import type { BackendCallContext, BackendCancelContext, JobBackend } from '../../src/jobs/backend.ts';
import type { ListPage, ListQuery } from '../../src/jobs/listing.ts';
import { notFoundReport, type CancelReport, type JobStatus, type JobStatusReport } from '../../src/jobs/model.ts';

/** The call waits until it is aborted, then rejects with its signal's reason. */
export const HANG = Symbol('hang until aborted');

export type Step<T> = T | Error | typeof HANG;

export type BackendCall =
  | { op: 'getStatus'; jobId: string }
  | { op: 'cancel'; jobId: string; reason: string | undefined }
  | { op: 'list'; statuses: JobStatus[] | undefined; limit: number; position: unknown };

/** A found job's report: `raw_status` is the status in capitals, as a backend's own word. */
export function report(status: JobStatus, extra: Partial<JobStatusReport> = {}): JobStatusReport {
  return { found: true, status, raw_status: status.toUpperCase(), ...extra };
}

export class ScriptedBackend implements JobBackend {
  readonly calls: BackendCall[] = [];
  /** The signal of every call, in the order of `calls`. */
  readonly signals: AbortSignal[] = [];
  /** Calls answered HANG that have not been aborted yet. */
  hanging = 0;
  private readonly reads = new Map<string, Step<JobStatusReport>[]>();
  private readonly cancels = new Map<string, Step<CancelReport>[]>();
  private pages: Step<ListPage>[] = [];

  readonly name: string;
  readonly kind: string;

  constructor(name = 'render-farm', kind = 'fake') {
    this.name = name;
    this.kind = kind;
  }

  /** Ids are `job-` and lowercase letters or digits. */
  validateJobId(jobId: string): string | null {
    return /^job-[0-9a-z]{1,32}$/.test(jobId) ? null : 'A fake job id is "job-" followed by up to 32 lowercase letters or digits.';
  }

  /** The job's next reads answer these in turn, the last one from then on (a status word: `report(word)`). Unscripted: not found. */
  onStatus(jobId: string, ...steps: Array<Step<JobStatusReport> | JobStatus>): this {
    this.reads.set(
      jobId,
      steps.map((s) => (typeof s === 'string' ? report(s) : s)),
    );
    return this;
  }

  /** The job's next cancels answer these in turn, the last one from then on. Unscripted: not_found. */
  onCancel(jobId: string, ...steps: Step<CancelReport>[]): this {
    this.cancels.set(jobId, steps);
    return this;
  }

  /** The next listings answer these pages in turn, the last one from then on. Unscripted: no jobs. */
  onList(...steps: Step<ListPage>[]): this {
    this.pages = steps;
    return this;
  }

  callsOf<Op extends BackendCall['op']>(op: Op): Extract<BackendCall, { op: Op }>[] {
    return this.calls.filter((c): c is Extract<BackendCall, { op: Op }> => c.op === op);
  }

  getStatus(jobId: string, ctx: BackendCallContext): Promise<JobStatusReport> {
    this.log({ op: 'getStatus', jobId }, ctx.signal);
    return this.play(this.reads.get(jobId), ctx.signal, notFoundReport());
  }

  cancel(jobId: string, ctx: BackendCancelContext): Promise<CancelReport> {
    this.log({ op: 'cancel', jobId, reason: ctx.reason }, ctx.signal);
    const notFound: CancelReport = { outcome: 'not_found', status_before: 'unknown', status_after: 'unknown', message: 'No such job.' };
    return this.play(this.cancels.get(jobId), ctx.signal, notFound);
  }

  list(query: ListQuery): Promise<ListPage> {
    this.log({ op: 'list', statuses: query.statuses && [...query.statuses], limit: query.limit, position: query.position }, query.signal);
    return this.play(this.pages, query.signal, { jobs: [], next: undefined });
  }

  private log(call: BackendCall, signal: AbortSignal) {
    this.calls.push(call);
    this.signals.push(signal);
  }

  private play<T>(steps: Step<T>[] | undefined, signal: AbortSignal, otherwise: T): Promise<T> {
    const step = !steps?.length ? otherwise : steps.length > 1 ? steps.shift()! : steps[0]!;
    if (step === HANG) {
      this.hanging++;
      return new Promise<T>((_resolve, reject) => {
        const end = () => {
          this.hanging--;
          reject(signal.reason);
        };
        if (signal.aborted) end();
        else signal.addEventListener('abort', end, { once: true });
      });
    }
    if (step instanceof Error) return Promise.reject(step);
    return Promise.resolve(step);
  }
}
