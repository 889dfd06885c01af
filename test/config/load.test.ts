import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKEND_KINDS, SANDBOX_SERVICE_NAMES, type BackendKind } from '../../src/backends/registry.ts';
import { configJsonSchema, loadConfigFile, parseConfig } from '../../src/config/load.ts';
import { configProblems } from '../helpers/config-problems.ts';

const minimal = (extra = '') => `
auth: { mode: none }
projects:
  - reference: p1
    backend: { kind: agent_jobs, base_url: "http://127.0.0.1:1/api/v0", api_key: k }
${extra}`;

/** waits.poll_interval_seconds by default, as config/example.yaml writes them: one per kind. */
const POLL_INTERVAL_DEFAULTS: Record<BackendKind, number> = {
  comfyui: 2,
  agent_jobs: 3,
  project_runtime: 3,
  comfycontrol: 5,
  http_jobs: 3,
};

describe('config loading', () => {
  it('accepts the shipped sandbox config, which has a project and a simulated service of every kind', () => {
    const cfg = loadConfigFile('config/sandbox.yaml');
    expect(new Set(cfg.projects.map((p) => p.backend.kind))).toEqual(new Set(BACKEND_KINDS));
    expect(new Set(cfg.sandbox!.services.map((s) => s.kind))).toEqual(new Set(['issuer', ...SANDBOX_SERVICE_NAMES]));
    const comfy = cfg.projects.find((p) => p.backend.kind === 'comfyui')!;
    expect(comfy.backend.kind === 'comfyui' && comfy.backend.hosts.length).toBeGreaterThan(1);
  });

  it('accepts the commented example once its secret references resolve', () => {
    const env = { AICONNECT_API_KEY: 'ak', COMFYCONTROL_TOKEN: 'cfc', COMFY_PROXY_TOKEN: 'pt', REPLICATE_API_TOKEN: 'r8' };
    const cfg = loadConfigFile('config/example.yaml', { env, readSecretFile: (p) => `secret-from-${p}\n` });
    const runtime = cfg.projects.find((p) => p.reference === 'site-x')!.backend;
    expect(runtime.kind === 'project_runtime' && runtime.token).toBe('secret-from-/var/run/secrets/veryfront/token');
    const comfy = cfg.projects.find((p) => p.reference === 'studio-a')!.backend;
    expect(comfy.kind === 'comfyui' && comfy.hosts[1]!.headers).toEqual({ Authorization: 'Bearer pt' });
  });

  it('applies defaults', () => {
    const cfg = parseConfig(minimal(), 't.yaml');
    expect(cfg.server).toMatchObject({ host: '127.0.0.1', port: 8080, path: '/mcp' });
    expect(cfg.defaults.timeout_ms).toBe(10_000);
  });

  it('defaults the waits, as config/example.yaml writes them, and bounds them', () => {
    const env = { AICONNECT_API_KEY: 'ak', COMFYCONTROL_TOKEN: 'cfc', COMFY_PROXY_TOKEN: 'pt', REPLICATE_API_TOKEN: 'r8' };
    const example = loadConfigFile('config/example.yaml', { env, readSecretFile: () => 'x' });
    const defaults = parseConfig(minimal(), 't.yaml').waits;
    expect(defaults).toEqual({
      max_seconds: 60,
      heartbeat_seconds: 5,
      max_per_caller: 10,
      task_max_seconds: 86_400,
      task_keep_seconds: 3600,
      max_tasks_per_caller: 100,
      max_tasks: 20_000,
      poll_interval_seconds: POLL_INTERVAL_DEFAULTS,
    });
    expect(example.waits).toEqual(defaults);
    expect(() => parseConfig(minimal('waits: { max_seconds: 601 }'), 't.yaml')).toThrow(/waits\.max_seconds/);
    expect(() => parseConfig(minimal('waits: { task_max_seconds: 604801 }'), 't.yaml')).toThrow(/waits\.task_max_seconds/);
  });

  it('says what to do with the session settings of earlier releases', () => {
    const text = minimal('server: { sessions: stateful, max_sessions: 10 }');
    expect(() => parseConfig(text, 't.yaml')).toThrow(
      /server\.sessions, server\.max_sessions: removed: the gateway serves both protocol eras without sessions/,
    );
  });

  it('lists every problem by its path at once, without echoing secret values', () => {
    const text = `
auth: { mode: none }
server: { port: 99999, sessions: sometimes }
projects:
  - reference: p1
    backend: { kind: comfyui, hosts: [ { name: a, url: "ftp://x" } ] }
  - reference: p2
    backend: { kind: agent_jobs, base_url: "http://x/api", api_key: "\${env:MISSING_KEY}" }
  - reference: p3
    backend: { kind: comfycontrol, base_url: "http://x", token: "\${file:/no/such/file}" }
  - reference: p4
    backend: { kind: nomad, base_url: "http://x" }
`;
    const paths = configProblems(text).map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'server.port',
        'server.sessions',
        'projects.0.backend.hosts.0.url',
        'projects.1.backend.api_key',
        'projects.2.backend.token',
        'projects.3.backend.kind',
      ]),
    );
  });

  it('refuses a name used twice: a reference or alias, a backend name, a host of one ComfyUI project', () => {
    const text = `
auth: { mode: none }
projects:
  - reference: p1
    backend: { kind: comfyui, hosts: [ { name: gpu, url: "http://a:8188" }, { name: gpu, url: "http://b:8188" } ] }
  - reference: p2
    aliases: [p1]
    backend: { kind: agent_jobs, name: p1, base_url: "http://x/api", api_key: k }
`;
    expect(configProblems(text)).toEqual([
      { path: 'projects.1.aliases', message: '"p1" already names project 0' },
      { path: 'projects.0.backend.hosts.1.name', message: 'host name "gpu" is used twice' },
      { path: 'projects.1.backend.name', message: 'backend name "p1" is used twice' },
    ]);
  });

  it('resolves ${env:} and ${file:} references', () => {
    const cfg = parseConfig(minimal().replace('api_key: k', 'api_key: "${env:KEY}"'), 't.yaml', { env: { KEY: 's3cret' } });
    expect(cfg.projects[0]!.backend.kind === 'agent_jobs' && cfg.projects[0]!.backend.api_key).toBe('s3cret');
    const err = configProblems(minimal().replace('api_key: k', 'api_key: "${env:KEY}"'), {});
    expect(err).toEqual([{ path: 'projects.0.backend.api_key', message: 'environment variable KEY is not set' }]);
  });

  it('refuses auth "none" unless bound to loopback', () => {
    const problems = configProblems(minimal('server: { host: 0.0.0.0, public_url: "https://jobs.example.com/mcp" }'));
    expect(problems.map((p) => p.path)).toEqual(['auth.mode']);
    expect(configProblems(minimal('server: { host: "::1" }'))).toEqual([]);
  });

  it('refuses a reference or alias that names two projects', () => {
    const text = `
auth: { mode: none }
projects:
  - { reference: a, aliases: [shared], backend: { kind: agent_jobs, base_url: "http://x", api_key: k } }
  - { reference: b, aliases: [shared], backend: { kind: agent_jobs, base_url: "http://y", api_key: k } }
`;
    expect(configProblems(text)).toEqual([expect.objectContaining({ path: 'projects.1.aliases' })]);
  });

  describe('project grants with several issuers', () => {
    const A = 'https://idp-a.example/';
    const B = 'https://login.microsoftonline.com/TENANT/v2.0';
    const withIssuers = (issuers: string[], access: string) => `
auth:
  mode: oauth
  issuers: [${issuers.map((i) => `{ issuer: "${i}", jwks_uri: "https://keys.example/jwks.json" }`).join(', ')}]
projects:
  - reference: p1
    backend: { kind: agent_jobs, base_url: "http://127.0.0.1:1/api/v0", api_key: k }
    access: ${access}
`;

    it('keeps a bare subject or client grant valid with exactly one issuer', () => {
      expect(configProblems(withIssuers([A], '{ subjects: [ops-oncall], clients: [release-bot] }'))).toEqual([]);
    });

    it('refuses a bare grant once several issuers are trusted, and says how to write it', () => {
      const problems = configProblems(withIssuers([A, B], '{ subjects: [ops-oncall], clients: [release-bot] }'));
      expect(problems.map((p) => p.path)).toEqual(['projects.0.access.subjects.0', 'projects.0.access.clients.0']);
      expect(problems[0]!.message).toContain('2 issuers are trusted');
      expect(problems[0]!.message).toContain(`{ issuer: "${A}", subject: "ops-oncall" }`);
      expect(problems[1]!.message).toContain('client: "release-bot"');
    });

    it('accepts grants that name their issuer, and refuses an issuer that is not in auth.issuers', () => {
      const named = `
      subjects: [ { issuer: "${A}", subject: ops-oncall }, { issuer: "${B}", subject: ops-oncall } ]
      clients: [ { issuer: "${B}", client: release-bot } ]`;
      const cfg = parseConfig(withIssuers([A, B], named), 't.yaml');
      expect(cfg.projects[0]!.access!.subjects).toEqual([
        { issuer: A, subject: 'ops-oncall' },
        { issuer: B, subject: 'ops-oncall' },
      ]);
      // The trailing slash matters: `iss` is compared exactly.
      const typo = configProblems(withIssuers([A, B], `{ clients: [ { issuer: "https://idp-a.example", client: release-bot } ] }`));
      expect(typo).toEqual([{ path: 'projects.0.access.clients.0.issuer', message: expect.stringContaining('not one of auth.issuers') }]);
    });
  });

  it('reads scopes from scope and scp unless auth.scope_claims says otherwise', () => {
    const oauth = (extra: string) =>
      minimal().replace(
        'auth: { mode: none }',
        `auth: { mode: oauth, issuers: [ { issuer: "https://idp.example/", jwks_uri: "https://idp.example/jwks" } ]${extra} }`,
      );
    const cfg = parseConfig(oauth(''), 't.yaml');
    expect(cfg.auth.mode === 'oauth' && cfg.auth.scope_claims).toEqual(['scope', 'scp']);
    const entra = parseConfig(oauth(', scope_claims: [scope, scp, roles]'), 't.yaml');
    expect(entra.auth.mode === 'oauth' && entra.auth.scope_claims).toEqual(['scope', 'scp', 'roles']);
    expect(configProblems(oauth(', scope_claims: []')).map((p) => p.path)).toEqual(['auth.scope_claims']);
  });

  it('reports YAML syntax errors and a non-mapping document', () => {
    expect(configProblems('projects: [unclosed')[0]!.path).toBe('(file)');
    expect(configProblems('- just a list')[0]!.message).toMatch(/mapping/);
  });

  it('rejects unknown keys (a typo is an error, not silently ignored)', () => {
    expect(configProblems(minimal('servr: { port: 1 }')).map((p) => p.path)).toEqual(['(top level)']);
  });

  it('ships a JSON Schema that matches the zod schema (run `npm run config-schema` after changing it)', () => {
    const shipped = JSON.parse(readFileSync('config/schema.json', 'utf8'));
    expect(shipped).toEqual(configJsonSchema());
  });

  describe('state', () => {
    it("defaults to this process's memory", () => {
      expect(parseConfig(minimal(), 't.yaml').state).toEqual({
        store: 'memory',
        key_prefix: 'mcp-job-gateway:',
        operation_timeout_ms: 250,
      });
    });

    it('takes a Redis URL from a secret reference, with a password and TLS', () => {
      const cfg = parseConfig(
        minimal('state: { store: redis, url: "${env:REDIS_URL}", key_prefix: "gw-a:", operation_timeout_ms: 100 }'),
        't.yaml',
        {
          env: { REDIS_URL: 'rediss://:p%40ss@redis.internal:6380/2' },
        },
      );
      expect(cfg.state).toEqual({
        store: 'redis',
        url: 'rediss://:p%40ss@redis.internal:6380/2',
        key_prefix: 'gw-a:',
        operation_timeout_ms: 100,
      });
      const fromFile = parseConfig(minimal('state: { store: redis, url: "${file:/run/secrets/redis-url}" }'), 't.yaml', {
        readSecretFile: () => 'redis://:pw@redis:6379/0\n',
      });
      expect(fromFile.state.url).toBe('redis://:pw@redis:6379/0');
    });

    it('refuses a redis store without a URL, a URL without redis, and a URL that is not one, without repeating it', () => {
      expect(configProblems(minimal('state: { store: redis }'))).toEqual([
        { path: 'state.url', message: 'store: redis needs the URL of the Redis or Valkey server' },
      ]);
      expect(configProblems(minimal('state: { url: "redis://redis:6379" }'))).toEqual([
        { path: 'state.url', message: 'url is used only with store: redis; set store: redis, or remove url' },
      ]);
      expect(configProblems(minimal('state: { store: redis, url: "http://:hunter2@redis:6379" }'))).toEqual([
        { path: 'state.url', message: 'the scheme must be redis:// or rediss:// (TLS), not http://' },
      ]);
      expect(configProblems(minimal('state: { store: redis, url: "redis://:hunter2@redis:6379/x" }'))).toEqual([
        { path: 'state.url', message: 'the path may only be a database number (redis://host:6379/0)' },
      ]);
      const unparsable = configProblems(minimal('state: { store: redis, url: "redis://:a/b@c@redis:6379" }'));
      expect(unparsable).toHaveLength(1);
      expect(unparsable[0]!.message).toMatch(/^not a URL: .*percent-encode/);
      expect(JSON.stringify(unparsable)).not.toContain('a/b@c');
      expect(configProblems(minimal('state: { store: redis, url: "${env:REDIS_URL}" }'))).toEqual([
        { path: 'state.url', message: 'environment variable REDIS_URL is not set' },
      ]);
      expect(configProblems(minimal('state: { store: etcd }')).map((p) => p.path)).toEqual(['state.store']);
    });

    it('takes Redis Sentinel: the Sentinels, the master name and their password, the URL giving the credentials', () => {
      const cfg = parseConfig(
        minimal(
          'state: { store: redis, url: "rediss://gw:${env:PW}@mymaster/2", sentinels: ["s-0.redis:26379", "[::1]:26380"], sentinel_master: mymaster, sentinel_password: "${env:SPW}" }',
        ),
        't.yaml',
        { env: { PW: 'p', SPW: 'sp' } },
      );
      expect(cfg.state).toMatchObject({
        store: 'redis',
        url: 'rediss://gw:p@mymaster/2',
        sentinels: ['s-0.redis:26379', '[::1]:26380'],
        sentinel_master: 'mymaster',
        sentinel_password: 'sp',
      });
    });

    it('refuses Sentinels without a master name, a master name without Sentinels, a Sentinel that is not host:port, and Sentinels with memory', () => {
      const url = 'url: "redis://:pw@mymaster"';
      expect(configProblems(minimal(`state: { store: redis, ${url}, sentinels: ["s:26379"] }`))).toEqual([
        { path: 'state.sentinel_master', message: 'sentinels need sentinel_master: the name the Sentinels monitor the master under' },
      ]);
      expect(configProblems(minimal(`state: { store: redis, ${url}, sentinel_master: mymaster }`))).toEqual([
        { path: 'state.sentinels', message: 'sentinel_master needs sentinels: the host:port of each Sentinel' },
      ]);
      expect(configProblems(minimal(`state: { store: redis, ${url}, sentinels: [], sentinel_master: m }`)).map((p) => p.path)).toEqual([
        'state.sentinels',
      ]);
      for (const bad of ['s', 's:', ':26379', 's:0', 's:70000', 'redis://s:26379'])
        expect(
          configProblems(minimal(`state: { store: redis, ${url}, sentinels: ["${bad}"], sentinel_master: m }`)).map((p) => p.path),
          bad,
        ).toEqual(['state.sentinels.0']);
      expect(configProblems(minimal('state: { sentinels: ["s:26379"], sentinel_master: m }'))).toEqual([
        { path: 'state.sentinels', message: 'sentinels is used only with store: redis; set store: redis, or remove sentinels' },
        {
          path: 'state.sentinel_master',
          message: 'sentinel_master is used only with store: redis; set store: redis, or remove sentinel_master',
        },
      ]);
    });
  });
});
