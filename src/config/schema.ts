// The configuration contract: one zod schema, validated at start-up and exported as JSON Schema
// (config/schema.json) for editors. Secret references are resolved before validation (load.ts).
// The backend sections, the poll intervals and the sandbox's services come from the backend
// registry, one entry per kind.
import * as z from 'zod';
import { httpUrl, name, timeoutMs } from '../backends/config-fields.ts';
import { LONGEST_WAIT_SECONDS } from '../jobs/waits.ts';
import { backendConfigSchema, checkBackendConfig, pollIntervalsSchema, SANDBOX_SERVICE_NAMES } from '../backends/registry.ts';

// A grant names the issuer it is for: the same `sub` or client id at another issuer is someone else.
// A bare name is allowed only while exactly one issuer is trusted (checked in configSchema below).
const grantIssuer = z.string().min(1).describe('The `iss` of the tokens this grant is for; one of auth.issuers, written exactly.');
const subjectGrantSchema = z.union([
  z.strictObject({ issuer: grantIssuer, subject: z.string().min(1).describe('The token subject (`sub`).') }),
  z.string().min(1).describe('A bare subject: allowed only with exactly one issuer in auth.issuers, and means that issuer.'),
]);
const clientGrantSchema = z.union([
  z.strictObject({ issuer: grantIssuer, client: z.string().min(1).describe('The OAuth client id (`client_id`, `azp` or `appid`).') }),
  z.string().min(1).describe('A bare client id: allowed only with exactly one issuer in auth.issuers, and means that issuer.'),
]);

export const projectAccessSchema = z
  .strictObject({
    subjects: z
      .array(subjectGrantSchema)
      .default([])
      .describe(
        'Users, by token subject (`sub` only), that may touch this project: { issuer, subject } entries (a bare subject with exactly one issuer).',
      ),
    clients: z
      .array(clientGrantSchema)
      .default([])
      .describe(
        'OAuth clients (`client_id`, `azp` or `appid`) that may touch this project: { issuer, client } entries (a bare client id with exactly one issuer).',
      ),
  })
  .describe('Grants in addition to the projects claim. A caller granted neither way sees the project as unknown.');

export const projectSchema = z.strictObject({
  reference: name.describe('What callers pass as project_reference.'),
  aliases: z.array(z.string().min(1).max(128)).default([]).describe('Other names for the project (an id and a slug can both name it).'),
  description: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\p{Cc}]*$/u, 'one line of text: no line breaks or control characters')
    .optional()
    .describe('One line that tells an agent what the project is; list_projects shows it to the callers who may use the project.'),
  access: projectAccessSchema.optional(),
  backend: backendConfigSchema,
});

export const serverSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1').describe('Interface to bind.'),
  port: z.number().int().min(0).max(65_535).default(8080),
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/-]*$/)
    .default('/mcp')
    .describe('Path of the MCP endpoint.'),
  public_url: httpUrl
    .optional()
    .describe('The URL clients use to reach the MCP endpoint (canonical resource URL); defaults to http://host:port/path.'),
  allowed_origins: z
    .array(z.string().min(1))
    .default([])
    .describe('Browser origins allowed to call the endpoint; a request with any other Origin gets 403.'),
  allowed_hosts: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'Host header names accepted (DNS-rebinding protection). Empty: loopback names when bound to loopback, else the public_url host.',
    ),
  max_body_bytes: z
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024)
    .default(64 * 1024),
  shutdown_grace_seconds: z.number().int().min(0).max(600).default(20).describe('On SIGTERM, how long in-flight calls may take to finish.'),
  max_connections: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .optional()
    .describe(
      'Open client connections this process holds; a connection beyond it is closed as it is accepted (counted in mcp_job_gateway_connections_refused_total). Default: from the open-files limit (ulimit -n), floor((nofile - 256) * 3 / 4), at least 64; no bound when unlimited.',
    ),
  keep_alive_timeout_seconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(65)
    .describe(
      'How long an idle client connection is kept open. Keep it above the idle timeout of any proxy or load balancer in front (60 s for most), or it may send a call on a connection the gateway is closing.',
    ),
  caller_rate_limit: z
    .strictObject({
      enabled: z.boolean().default(true),
      per_second: z.number().min(0.01).max(100_000).default(20),
      burst: z.number().int().min(1).max(1_000_000).default(100),
    })
    .default({ enabled: true, per_second: 20, burst: 100 })
    .describe(
      'Messages each caller (token subject) may send, tool calls and every other MCP method alike: `burst` at once, then `per_second` (fixed windows, see docs/operations.md); beyond it, RATE_LIMITED (HTTP 429 for a message other than a tool call). One budget across replicas with state.store: redis.',
    ),
});

export const adminSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(9090),
  })
  .describe('The admin listener: /metrics, /healthz, /readyz and /backends, kept off the public MCP port.');

export const auditSchema = z
  .strictObject({ file: z.string().min(1).optional().describe('Also append audit records (JSON lines) to this file.') })
  .describe('Every cancel_job is audited in the log (event "audit").');

/** A redis:// or rediss:// URL; checked without ever echoing it (it may hold a password). */
const storeUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'not a URL: write redis://[:password@]host[:port][/db] or rediss://… (percent-encode "@", "/", ":" and "%" in a password)',
    });
    return;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    ctx.addIssue({ code: 'custom', message: `the scheme must be redis:// or rediss:// (TLS), not ${url.protocol}//` });
  } else if (url.hostname === '') {
    ctx.addIssue({ code: 'custom', message: 'the URL names no host' });
  } else if (!/^(\/\d{0,5})?$/.test(url.pathname)) {
    ctx.addIssue({ code: 'custom', message: 'the path may only be a database number (redis://host:6379/0)' });
  }
});

/** One Sentinel, `host:port` (an IPv6 address in brackets). */
const sentinelAddress = z.string().superRefine((a, ctx) => {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(a);
  if (!m) ctx.addIssue({ code: 'custom', message: 'write host:port, e.g. sentinel-0.redis:26379 or [::1]:26379' });
  else if (!(Number(m[2]) >= 1 && Number(m[2]) <= 65_535)) ctx.addIssue({ code: 'custom', message: 'the port is 1 to 65535' });
});

export const stateSchema = z
  .strictObject({
    store: z
      .enum(['memory', 'redis'])
      .default('memory')
      .describe('memory: each process remembers on its own (one replica). redis: every replica shares one Redis or Valkey.'),
    url: storeUrl
      .optional()
      .describe(
        'The Redis or Valkey URL (store: redis), e.g. redis://:${env:REDIS_PASSWORD}@redis:6379/0 or rediss://… for TLS; use a secret reference.',
      ),
    sentinels: z
      .array(sentinelAddress)
      .min(1)
      .optional()
      .describe(
        'Redis Sentinel (store: redis): the Sentinels to ask for the master, host:port each. The URL then gives only the password, ACL user, database and TLS (rediss://); its host is not used.',
      ),
    sentinel_master: z
      .string()
      .min(1)
      .optional()
      .describe('The name the Sentinels monitor the master under (their `sentinel monitor NAME …`); required with sentinels.'),
    sentinel_password: z
      .string()
      .min(1)
      .optional()
      .describe("The Sentinels' own password (their requirepass), when they have one; use a secret reference."),
    key_prefix: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
      .default('mcp-job-gateway:')
      .describe('Every key the gateway writes starts with this (several gateways on one store: one prefix each).'),
    operation_timeout_ms: z
      .number()
      .int()
      .min(10)
      .max(10_000)
      .default(250)
      .describe("Deadline for one store operation; past it the call is served from this replica's own memory."),
  })
  .superRefine((s, ctx) => {
    if (s.store === 'redis' && s.url === undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'store: redis needs the URL of the Redis or Valkey server' });
    if (s.store === 'memory' && s.url !== undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'url is used only with store: redis; set store: redis, or remove url' });
    for (const key of ['sentinels', 'sentinel_master', 'sentinel_password'] as const)
      if (s.store === 'memory' && s[key] !== undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `${key} is used only with store: redis; set store: redis, or remove ${key}` });
    if (s.store === 'redis' && s.sentinels !== undefined && s.sentinel_master === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['sentinel_master'],
        message: 'sentinels need sentinel_master: the name the Sentinels monitor the master under',
      });
    if (s.store === 'redis' && s.sentinels === undefined && s.sentinel_master !== undefined)
      ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'sentinel_master needs sentinels: the host:port of each Sentinel' });
    if (s.store === 'redis' && s.sentinels === undefined && s.sentinel_password !== undefined)
      ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'sentinel_password needs sentinels: the host:port of each Sentinel' });
  })
  .describe("Where what the gateway learns is kept: this process's memory, or a Redis/Valkey shared by every replica.");

export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export const issuerSchema = z
  .strictObject({
    issuer: z.string().min(1).describe('The exact `iss` value of the tokens this issuer signs.'),
    jwks_uri: httpUrl.optional().describe("URL of the issuer's JSON Web Key Set; fetched, cached and refetched on an unknown key id."),
    jwks_file: z.string().min(1).optional().describe('A local JWKS file instead of jwks_uri, for air-gapped sites.'),
  })
  .refine((i) => (i.jwks_uri === undefined) !== (i.jwks_file === undefined), { message: 'set exactly one of jwks_uri and jwks_file' });

export const oauthSchema = z.strictObject({
  mode: z.literal('oauth').describe('Every request needs a valid bearer JWT (OAuth 2.1 resource server).'),
  issuers: z.array(issuerSchema).min(1).describe('Trusted token issuers.'),
  audience: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .optional()
    .describe("Accepted `aud` values; default: server.public_url (the canonical resource URL). Entra: the app's Application ID URI."),
  authorization_servers: z.array(httpUrl).optional().describe('Announced in the protected-resource metadata; default: the issuers.'),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1).default(['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519']),
  clock_tolerance_seconds: z.number().int().min(0).max(300).default(30),
  scopes: z
    .strictObject({ read: z.string().min(1).default('jobs:read'), cancel: z.string().min(1).default('jobs:cancel') })
    .default({ read: 'jobs:read', cancel: 'jobs:cancel' })
    .describe('read: list tools, get_job_status and list_jobs; cancel: cancel_job (asked for by a 403 step-up challenge).'),
  scope_claims: z
    .array(z.string().min(1))
    .min(1)
    .default(['scope', 'scp'])
    .describe(
      'Claims read for scopes, merged: a string claim is space-separated, an array claim a list. Entra app-only tokens: add roles.',
    ),
  projects_claim: z
    .string()
    .min(1)
    .nullable()
    .default('projects')
    .describe('Token claim listing the project references or aliases the caller may touch ("*": all); null: no claim is read.'),
  jwks_cache_max_age_seconds: z.number().int().min(1).max(86_400).default(600),
  jwks_cooldown_seconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(30)
    .describe('Least time between two JWKS fetches caused by unknown key ids.'),
  jwks_timeout_ms: z.number().int().min(100).max(60_000).default(5000),
  max_token_bytes: z.number().int().min(512).max(65_536).default(8192).describe('Longer bearer tokens are refused without parsing.'),
});

export const authSchema = z
  .discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('none').describe('Authentication off; refused unless server.host is a loopback address.') }),
    oauthSchema,
  ])
  .describe('Caller authentication.');

export const defaultsSchema = z.strictObject({
  timeout_ms: timeoutMs.default(10_000),
});

export const waitsSchema = z
  .strictObject({
    max_seconds: z.number().min(1).max(600).default(60).describe('Longest wait_seconds a call gets; longer requests are shortened to it.'),
    heartbeat_seconds: z
      .number()
      .min(0.01)
      .max(60)
      .default(5)
      .describe('Time between two progress notifications of a waiting call whose client sent a progress token.'),
    max_per_caller: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(10)
      .describe('Concurrent waits one caller may hold; beyond it a waiting call is refused with RATE_LIMITED.'),
    max_concurrent: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe(
        'Concurrent waits this process holds, all callers together; beyond it a waiting call is refused with RATE_LIMITED and retry_after_seconds. Default: from the open-files limit (ulimit -n), floor((nofile - 256) / 2) between 16 and 10000.',
      ),
    task_max_seconds: z
      .number()
      .min(1)
      .max(LONGEST_WAIT_SECONDS)
      .default(86_400)
      .describe(
        'Longest wait_seconds a call answered as an MCP task gets (2026-07-28 clients that declare the io.modelcontextprotocol/tasks extension): no request is held open, so it may be far longer than max_seconds.',
      ),
    task_keep_seconds: z
      .number()
      .min(60)
      .max(604_800)
      .default(3600)
      .describe("How long a task's answer stays readable (tasks/get) after its wait's deadline: a task's ttlMs is its wait plus this."),
    max_tasks_per_caller: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(100)
      .describe(
        'Live MCP tasks one caller may hold, across replicas; one more waiting call from it is refused with RATE_LIMITED and retry_after_seconds before anything is read or cancelled. A task counts until it completes, is cancelled, or its ttl passes.',
      ),
    max_tasks: z
      .number()
      .int()
      .min(100)
      .max(1_000_000)
      .default(20_000)
      .describe('Tasks kept at most, all callers together (the oldest are forgotten first; tasks/get then answers not found).'),
    poll_interval_seconds: pollIntervalsSchema,
  })
  .describe('get_job_status and cancel_job with wait_seconds, answered in the call or as MCP tasks.');

export const tracingSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe(
        'true: export traces; false: never, whatever the environment says. Unset: on when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set.',
      ),
    endpoint: httpUrl
      .optional()
      .describe(
        "The collector's OTLP/HTTP base URL (e.g. http://otel-collector:4318); /v1/traces is added. Default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, then OTEL_EXPORTER_OTLP_ENDPOINT, then http://localhost:4318.",
      ),
    service_name: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe('service.name of the spans. Default: OTEL_SERVICE_NAME, then mcp-job-gateway.'),
    sampler: z
      .strictObject({
        type: z.enum([
          'always_on',
          'always_off',
          'traceidratio',
          'parentbased_always_on',
          'parentbased_always_off',
          'parentbased_traceidratio',
        ]),
        ratio: z.number().min(0).max(1).optional().describe('For the traceidratio samplers: the share of new traces kept (default 1).'),
      })
      .optional()
      .describe(
        "Which traces are kept. Default: OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, then parentbased_always_on (a caller's sampled flag is followed).",
      ),
    record_tool_arguments: z
      .boolean()
      .default(false)
      .describe(
        'Opt-in: the tool arguments (job ids, cancel reasons, which may be personal) as the gen_ai.tool.call.arguments span attribute.',
      ),
  })
  .describe('OpenTelemetry traces over OTLP/HTTP (protobuf). Off unless enabled here or by the OTEL_* variables.');

export const sandboxServiceSchema = z.strictObject({
  kind: z.enum(['issuer', ...SANDBOX_SERVICE_NAMES]),
  port: z.number().int().min(1).max(65_535),
});

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    server: serverSchema.default(serverSchema.parse({})),
    auth: authSchema,
    admin: adminSchema.default({ enabled: true, host: '127.0.0.1', port: 9090 }),
    audit: auditSchema.default({}),
    defaults: defaultsSchema.default({ timeout_ms: 10_000 }),
    state: stateSchema.default({ store: 'memory', key_prefix: 'mcp-job-gateway:', operation_timeout_ms: 250 }),
    waits: waitsSchema.default(waitsSchema.parse({})),
    tracing: tracingSchema.optional(),
    projects: z.array(projectSchema).min(1),
    sandbox: z
      .strictObject({ services: z.array(sandboxServiceSchema).min(1) })
      .optional()
      .describe('Simulated backends started on loopback before the gateway (npm start without --config). Never for production.'),
  })
  .superRefine((cfg, ctx) => {
    // Every reference and alias names exactly one project.
    const seen = new Map<string, number>();
    cfg.projects.forEach((p, i) => {
      for (const [j, n] of [p.reference, ...p.aliases].entries()) {
        const prior = seen.get(n);
        if (prior !== undefined && prior !== i) {
          ctx.addIssue({
            code: 'custom',
            path: ['projects', i, j === 0 ? 'reference' : 'aliases'],
            message: `"${n}" already names project ${prior}`,
          });
        }
        seen.set(n, i);
      }
    });
    const names = new Map<string, number>();
    cfg.projects.forEach((p, i) => {
      const n = p.backend.name ?? p.reference;
      if (names.has(n))
        ctx.addIssue({ code: 'custom', path: ['projects', i, 'backend', 'name'], message: `backend name "${n}" is used twice` });
      names.set(n, i);
      checkBackendConfig(p.backend, (path, message) =>
        ctx.addIssue({ code: 'custom', path: ['projects', i, 'backend', ...path], message }),
      );
    });
    if (cfg.auth.mode === 'oauth')
      checkGrants(
        cfg.auth.issuers.map((i) => i.issuer),
        cfg.projects,
        ctx,
      );
  });

/** Every grant's issuer is a trusted one; a grant without an issuer only while there is exactly one. */
function checkGrants(issuers: string[], projects: readonly { access?: ProjectAccess | undefined }[], ctx: z.RefinementCtx): void {
  const listed = issuers.map((i) => JSON.stringify(i)).join(', ');
  projects.forEach((p, i) => {
    const lists = [
      ['subjects', 'subject', p.access?.subjects ?? []],
      ['clients', 'client', p.access?.clients ?? []],
    ] as const;
    for (const [list, field, grants] of lists) {
      grants.forEach((g, k) => {
        const path = ['projects', i, 'access', list, k];
        if (typeof g !== 'string') {
          if (!issuers.includes(g.issuer)) {
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'issuer'],
              message: `"${g.issuer}" is not one of auth.issuers (${listed}); it must match the \`iss\` of the tokens exactly`,
            });
          }
          return;
        }
        if (issuers.length === 1) return;
        ctx.addIssue({
          code: 'custom',
          path,
          message:
            `"${g}" names no issuer, and ${issuers.length} issuers are trusted (auth.issuers), so it would let in that name from any of them: ` +
            `write { issuer: ${JSON.stringify(issuers[0])}, ${field}: ${JSON.stringify(g)} }, one entry per issuer it is meant for`,
        });
      });
    }
  });
}

export type Config = z.infer<typeof configSchema>;
export type WaitsConfig = z.infer<typeof waitsSchema>;
export type TracingConfig = z.infer<typeof tracingSchema>;
export type StateConfig = z.infer<typeof stateSchema>;
export type ProjectConfig = z.infer<typeof projectSchema>;
export type OAuthConfig = z.infer<typeof oauthSchema>;
export type ProjectAccess = z.infer<typeof projectAccessSchema>;
