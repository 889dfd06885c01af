// The closed set of backend kinds: THE one list (KINDS), and everything derived from it. The config
// schema, the tool schemas, the wait settings, the sandbox and the adapter factory take their lists
// of kinds from here, so a kind is added in its folder and in KINDS, and the compiler points at
// whatever else must know it (e.g. a test's table keyed by BackendKind).
import * as z from 'zod';
import type { JobBackend } from '../jobs/backend.ts';
import type { Clock } from '../jobs/clock.ts';
import type { StateStore } from '../state/store.ts';
import type { Simulation } from '../simulation/simulation.ts';
import type { AdapterOptions } from './http/adapter-options.ts';
import type { BackendCallObserver, BackendTracer } from './http/http-client.ts';
import type { ConfigProblemReporter, SimulationStart } from './kind.ts';
import { agentJobsKind } from './agent-jobs/kind.ts';
import { comfycontrolKind } from './comfycontrol/kind.ts';
import { comfyuiKind } from './comfyui/kind.ts';
import { projectRuntimeKind } from './project-runtime/kind.ts';
import { httpJobsKind } from './http-jobs/kind.ts';

/** What every entry's simulation must start: a Simulation of the simulation toolkit. */
interface Simulated {
  readonly simulation: { start(service: never, options: never): Promise<Simulation<string>> };
}

/** Every kind, in the order schemas, unions and help texts list them. */
const KINDS = [comfyuiKind, agentJobsKind, projectRuntimeKind, comfycontrolKind, httpJobsKind] as const satisfies readonly Simulated[];

type Kinds = typeof KINDS;
type AnyKind = Kinds[number];
// Each entry's field, kept in a tuple of the entries' own types (a generic mapped type keeps tuples).
type KindNames<T extends readonly AnyKind[]> = { readonly [I in keyof T]: T[I] extends { kind: infer K } ? K : never };
type ConfigSchemas<T extends readonly AnyKind[]> = { -readonly [I in keyof T]: T[I] extends { config: infer C } ? C : never };
type DetailsSchemas<T extends readonly AnyKind[]> = { -readonly [I in keyof T]: T[I] extends { details: infer D } ? D : never };

export type BackendKind = AnyKind['kind'];
/** A backend section of the config, of any kind. */
export type BackendConfig = z.output<typeof backendConfigSchema>;
/** A simulated service's name (sandbox.services[].kind besides `issuer`, the sandbox CLI's --kind). */
export type SandboxServiceName = AnyKind['simulation']['services'][number];
/** A simulated backend running in a sandbox. */
export type SandboxSimulation = Simulation<SandboxServiceName>;

export const BACKEND_KINDS = KINDS.map((k) => k.kind) as unknown as KindNames<Kinds>;

/**
 * The entry of a backend section's kind, with methods typed for any section: the section's own
 * `kind` picked the entry, so each method is given a section of its kind.
 */
function entryFor(config: BackendConfig): {
  check?(config: BackendConfig, problem: ConfigProblemReporter): void;
  create(config: BackendConfig, options: AdapterOptions): JobBackend<BackendKind>;
  backendUrls(config: BackendConfig): readonly string[];
  withBackendUrls(config: BackendConfig, move: (url: string) => string): BackendConfig;
} {
  return KINDS.find((k) => k.kind === config.kind)!;
}

// --- the config ---------------------------------------------------------------------------------

/** A project's `backend:` section: one of the kinds' config sections, told apart by `kind`. */
export const backendConfigSchema = z.discriminatedUnion('kind', KINDS.map((k) => k.config) as unknown as ConfigSchemas<Kinds>);

/** Cross-field checks of one backend section (a kind's `check`), run once the whole config parses. */
export function checkBackendConfig(config: BackendConfig, problem: ConfigProblemReporter): void {
  entryFor(config).check?.(config, problem);
}

const pollInterval = (seconds: number, why: string) => z.number().min(0.01).max(300).default(seconds).describe(why);

/** `waits.poll_interval_seconds`: one interval per kind, each with the kind's default. */
export const pollIntervalsSchema = z
  .strictObject(
    Object.fromEntries(KINDS.map((k) => [k.kind, pollInterval(k.pollIntervalSeconds.default, k.pollIntervalSeconds.description)])) as {
      [K in BackendKind]: z.ZodDefault<z.ZodNumber>;
    },
  )
  .default(Object.fromEntries(KINDS.map((k) => [k.kind, k.pollIntervalSeconds.default])) as Record<BackendKind, number>)
  .describe(
    'Time between two reads of one waited-on job, by backend kind: however many calls wait on a job, this gateway process reads it once per interval.',
  );

// --- the tools ----------------------------------------------------------------------------------

/** A report's `details`: the fields of one of the kinds. */
export const jobDetailsSchema = z
  .union(KINDS.map((k) => k.details) as unknown as DetailsSchemas<Kinds>)
  .describe("The backend's own fields for this kind of job (see backend.kind); only those it knows are present.");

// --- the adapters -------------------------------------------------------------------------------

export interface BackendFactoryOptions {
  defaultTimeoutMs: number;
  /** The gateway's clock; adapters read its time (the system's when none is given). */
  clock?: Pick<Clock, 'now'>;
  /** The gateway's state store: what adapters learn is kept there (shared with every replica on Redis). */
  state: StateStore;
  /** An observer of a backend's HTTP calls, given its kind and configured name (metrics). */
  observerFor?: (backend: { kind: string; name: string }) => BackendCallObserver;
  /** Client spans for a backend's HTTP calls, given its kind and configured name (tracing). */
  tracerFor?: (backend: { kind: string; name: string }) => BackendTracer;
}

/** The adapter of one project: its backend section made into a JobBackend by the section's kind. */
export function createBackend(
  project: { reference: string; backend: BackendConfig },
  options: BackendFactoryOptions,
): JobBackend<BackendKind> {
  const b = project.backend;
  const name = b.name ?? project.reference;
  const clock = options.clock;
  return entryFor(b).create(b, {
    name,
    projectReference: project.reference,
    timeoutMs: b.timeout_ms ?? options.defaultTimeoutMs,
    ...(clock ? { now: () => clock.now() } : {}),
    state: options.state,
    observe: options.observerFor?.({ kind: b.kind, name }),
    trace: options.tracerFor?.({ kind: b.kind, name }),
  });
}

// --- the sandbox --------------------------------------------------------------------------------

/** Every simulated service, kind by kind. */
export const SANDBOX_SERVICE_NAMES: readonly SandboxServiceName[] = KINDS.flatMap((k) => k.simulation.services);

/** The URLs a backend section points at. */
export function backendUrls(config: BackendConfig): readonly string[] {
  return entryFor(config).backendUrls(config);
}

/** The backend section with each of its URLs passed through `move`. */
export function withBackendUrls(config: BackendConfig, move: (url: string) => string): BackendConfig {
  return entryFor(config).withBackendUrls(config, move);
}

/** A simulated service as the sandbox starts it: its kind, what its simulation declares, and how to start one. */
export interface SandboxService {
  readonly name: SandboxServiceName;
  /** The kind it simulates: projects of this kind whose URLs point at the service are its users. */
  readonly kind: BackendKind;
  readonly defaultCredential: string | undefined;
  readonly defaultProject: string | undefined;
  readonly basePath: string;
  /** Starts it; `projects` may name projects of any kind: only this kind's are passed on. */
  start(options: SimulationStart<BackendConfig>): Promise<SandboxSimulation>;
}

/** Whether a kind offers a simulated service of this name. */
export function isSandboxServiceName(name: string): name is SandboxServiceName {
  return (SANDBOX_SERVICE_NAMES as readonly string[]).includes(name);
}

/** The simulated service of this name. */
export function sandboxService(name: SandboxServiceName): SandboxService {
  const entry = KINDS.find((k) => (k.simulation.services as readonly string[]).includes(name))!;
  const simulation = entry.simulation as {
    defaultCredential?: string;
    defaultProject?: string;
    basePath: string;
    start(service: string, options: SimulationStart<BackendConfig>): Promise<SandboxSimulation>;
  };
  return {
    name,
    kind: entry.kind,
    defaultCredential: simulation.defaultCredential,
    defaultProject: simulation.defaultProject,
    basePath: simulation.basePath,
    start: (options) => simulation.start(name, { ...options, projects: options.projects.filter((p) => p.backend.kind === entry.kind) }),
  };
}
