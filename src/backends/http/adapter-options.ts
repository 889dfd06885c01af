// What every adapter factory receives besides its own config section.
import type { StateStore } from '../../state/store.ts';
import type { BackendCallObserver, BackendTracer } from './http-client.ts';

export interface AdapterOptions {
  /** Configured backend name (defaults to the project reference). */
  name: string;
  /** The gateway-side project reference this backend serves. */
  projectReference: string;
  /** Deadline for one backend call, in milliseconds. */
  timeoutMs: number;
  /**
   * Milliseconds since the epoch: the gateway's clock (GatewayDeps.clock), which tests move (ComfyUI
   * tombstones and their expiry, the job → host memory). Date.now when none is given.
   */
  now?: () => number;
  /** Where what the adapter learns is kept: the gateway's store (tests pass a memory store). */
  state: StateStore;
  /** Told about every backend HTTP call (metrics). */
  observe?: BackendCallObserver | undefined;
  /** Starts each backend HTTP call's client span (tracing on). */
  trace?: BackendTracer | undefined;
}
