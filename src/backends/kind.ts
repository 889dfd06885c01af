// One backend kind as a single object: its config section, its `details` fields, its poll interval,
// how an adapter is made, and what the sandbox needs to simulate it. Each kind's folder exports one
// (src/backends/<kind>/kind.ts); the registry (registry.ts) lists them, and every other list of kinds
// (the config schema's union, the details union, the poll intervals, the sandbox's services, the
// adapter factory) is derived from that one list. The kind entry is the only file of a kind that
// names its simulation, and it loads it only when a sandbox starts one; this file names none, so
// what a simulation is (src/simulation/simulation.ts) is checked where the kinds are listed.
import type * as z from 'zod';
import type { JobBackend } from '../jobs/backend.ts';
import type { AdapterOptions } from './http/adapter-options.ts';

/**
 * A kind's config section (config-fields.ts, kindConfig): a strict object with the kind's name as
 * `kind`, and the `name` and `timeout_ms` every backend section has.
 */
export type KindConfigSchema<K extends string> = z.ZodObject<
  { kind: z.ZodLiteral<K>; name: z.ZodOptional<z.ZodString>; timeout_ms: z.ZodOptional<z.ZodNumber> },
  z.core.$strict
>;

/** Reports one problem of a backend section, at `path` below it (`projects.N.backend.` is added). */
export type ConfigProblemReporter = (path: readonly (string | number)[], message: string) => void;

/** What starting one simulated service gets. */
export interface SimulationStart<Config> {
  port: number;
  host: string;
  /** Seeded job ids derive from it, so they stay the same from run to run. */
  namespace: string;
  /** The simulated time (a Clock of src/simulation/clock.ts); absent: the system clock. */
  clock?: { now(): number } | undefined;
  /** How many services of this kind come before this one in the sandbox's list (0 when run alone). */
  ordinal: number;
  /** The projects whose backend URLs point at this service, each with its backend section (none when run alone). */
  projects: readonly { reference: string; backend: Config }[];
  /** Run alone by the sandbox CLI: the credential to accept and the remote project to serve, as its flags give them. */
  standalone?: { credential?: string | undefined; project?: string | undefined } | undefined;
}

/**
 * A kind's simulated backend, as the sandbox runner and the sandbox CLI (src/sandbox/) start it;
 * `Started` is what it starts (the registry requires a Simulation of src/simulation/simulation.ts).
 */
export interface KindSimulation<Service extends string, Config, Started> {
  /** The service names it offers (sandbox.services[].kind and the CLI's --kind); the first is the kind's own. */
  readonly services: readonly [Service, ...Service[]];
  /** The credential a simulation accepts when no project and no --credential names one; none: it takes no credential. */
  readonly defaultCredential?: string;
  /** The remote project a simulation run alone serves when --project names none; none: it takes no --project. */
  readonly defaultProject?: string;
  /** The path below the server's URL that a backend's base URL names (e.g. an API prefix); '' when none. */
  readonly basePath: string;
  start(service: Service, options: SimulationStart<Config>): Promise<Started>;
}

export interface BackendKindDefinition<
  K extends string,
  C extends KindConfigSchema<K>,
  D extends z.ZodType,
  Service extends string,
  Started,
> {
  /** The kind's name: `kind:` in a config's backend section, `backend.kind` in results, a metric label. */
  readonly kind: K;
  /** Its config section. */
  readonly config: C;
  /** Its `details`: the backend's own fields a report passes on (a strict object of bounded fields). */
  readonly details: D;
  /** `waits.poll_interval_seconds.<kind>`: time between two reads of one waited-on job. */
  readonly pollIntervalSeconds: { readonly default: number; readonly description: string };
  /** Checks of a backend section that span fields, run once the whole config parses. */
  check?(config: z.output<C>, problem: ConfigProblemReporter): void;
  /** The adapter of one project. */
  create(config: z.output<C>, options: AdapterOptions): JobBackend<K>;
  /** The URLs the backend section points at (the sandbox finds the simulated service behind each). */
  backendUrls(config: z.output<C>): readonly string[];
  /** The backend section with each URL passed through `move` (the sandbox moves services to free ports). */
  withBackendUrls(config: z.output<C>, move: (url: string) => string): z.output<C>;
  readonly simulation: KindSimulation<Service, z.output<C>, Started>;
}

/** Declares a kind's entry, keeping its precise types (the registry derives its unions from them). */
export function defineBackendKind<K extends string, C extends KindConfigSchema<K>, D extends z.ZodType, Service extends string, Started>(
  definition: BackendKindDefinition<K, C, D, Service, Started>,
): BackendKindDefinition<K, C, D, Service, Started> {
  return definition;
}
