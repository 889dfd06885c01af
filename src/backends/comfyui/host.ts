// One ComfyUI host as the adapter's parts see it. Its own file, apart from the pool that makes hosts
// (hosts.ts): the API modules and the answer readers take a host, and the pool calls them.
import type { HttpClient } from '../http/http-client.ts';
import type { HistoryEntry, SharedQueue } from './schemas.ts';
import type { SharedReads } from './shared-read.ts';

export type ApiKind = 'jobs' | 'legacy';

export interface Host {
  readonly name: string;
  readonly client: HttpClient;
  /** The host's base URL as callers reach it (config `public_url`, no trailing slash): output files' `url`. */
  readonly publicUrl: string | undefined;
  /** True with `api: auto`: the kind is learned, and relearned when the server behind the host changes. */
  readonly detects: boolean;
  /** Known API kind (fixed by config, or learned by the probe). */
  api: ApiKind | undefined;
  /** With `api: auto`, since when the host is known to be legacy (the clock's ms): it is probed again now and then. */
  legacySince: number | undefined;
  /** The probe in flight, shared by concurrent calls. */
  probing: Promise<ApiKind> | undefined;
  /**
   * The legacy reads of this host, each shared by the calls that need it at the same moment
   * (shared-read.ts): GET /queue, and GET /history/{id} by id. Readonly answers: they are shared.
   */
  readonly legacy: {
    readonly queue: SharedReads<'queue', SharedQueue>;
    readonly history: SharedReads<string, Readonly<HistoryEntry> | undefined>;
    /** GET /history?max_items=N (a listing's newest N entries, keyed by N): id and entry, oldest first, as ComfyUI keeps them. */
    readonly newestHistory: SharedReads<number, ReadonlyArray<readonly [string, Readonly<HistoryEntry>]>>;
  };
}
