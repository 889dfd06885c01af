// The Helm chart (helm/mcp-job-gateway), checked with the real tools: helm lint and helm template
// (helm built from source by scripts/tools/install.ts), every rendered object validated against the
// Kubernetes and Prometheus Operator schemas (kubernetes-models) and decoded strictly with the real
// Go types (test/helm/kube-strict: unknown fields fail, as with kubectl), promtool on the alert rules and
// on the dashboard's queries, the gateway's own --check-config on the rendered config, and what an
// operator would notice (replicas, security context, probes, config checksum, secrets).
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { tracingSettings } from '../../src/observability/tracing.ts';
import { ensureHelm, ensureKubeStrict, ensurePromtool, REPO_ROOT } from '../../scripts/tools/install.ts';

const CHART = join(REPO_ROOT, 'helm', 'mcp-job-gateway');
const VALUES_FULL = join(REPO_ROOT, 'test', 'helm', 'values-full.yaml');
const DASHBOARD = join(CHART, 'dashboards', 'mcp-job-gateway.json');
const RELEASE = 'rel';
const NAMESPACE = 'jobs';
const SECRETS_DIR = '/var/run/secrets/mcp-job-gateway';
/** The variable the chart puts the state store's URL in (stateStore.urlSecret), for config.state.url. */
const STATE_URL_ENV = 'MCP_JOB_GATEWAY_STATE_URL';

// Installing helm (a Go build) and promtool (apt) takes minutes on a cold machine.
const INSTALL_TIMEOUT_MS = 25 * 60_000;
const HELM_TIMEOUT_MS = 60_000;

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [key: string]: unknown;
};

let helm: string;
let promtool: string;
let kubeStrict: string;
let work: string;

beforeAll(async () => {
  // Both in parallel; a tool that cannot be installed fails the suite with the installer's message.
  [helm, promtool, kubeStrict] = await Promise.all([ensureHelm(), ensurePromtool(), ensureKubeStrict()]);
  work = mkdtempSync(join(tmpdir(), 'mjg-helm-'));
}, INSTALL_TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// helpers

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? HELM_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `helm template` with the given values file and --set flags; rejects with helm's stderr on failure. */
async function template(valuesFile?: string, set: string[] = []): Promise<K8sObject[]> {
  const r = await templateRaw(valuesFile, set);
  if (r.code !== 0) throw new Error(`helm template failed (exit ${r.code}):\n${r.stderr}`);
  return parseObjects(r.stdout);
}

function templateRaw(valuesFile?: string, set: string[] = []): Promise<RunResult> {
  const args = ['template', RELEASE, CHART, '--namespace', NAMESPACE];
  if (valuesFile) args.push('--values', valuesFile);
  for (const s of set) args.push('--set', s);
  return run(helm, args);
}

function parseObjects(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return objects;
}

function find(objects: K8sObject[], kind: string, nameSuffix = ''): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`expected one ${kind}${nameSuffix ? ` named *${nameSuffix}` : ''}, found ${found.length}`);
  return found[0]!;
}

function gatewayContainer(objects: K8sObject[]): any {
  const containers = find(objects, 'Deployment').spec.template.spec.containers as any[];
  const c = containers.find((x) => x.name === 'gateway');
  if (!c) throw new Error('no container named gateway');
  return c;
}

function renderedConfig(objects: K8sObject[]): any {
  const text = find(objects, 'ConfigMap', `${RELEASE}-mcp-job-gateway`).data?.['config.yaml'];
  if (typeof text !== 'string') throw new Error('the ConfigMap has no config.yaml');
  return parseYaml(text);
}

/** The model class that validates apiVersion/kind, from kubernetes-models or its Prometheus Operator package. */
async function modelFor(apiVersion: string, kind: string): Promise<{ new (data: unknown): { validate(): void } }> {
  const spec = apiVersion.startsWith('monitoring.coreos.com/')
    ? `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`
    : `kubernetes-models/${apiVersion}/${kind}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`no schema for ${apiVersion} ${kind} (${spec}): ${(e as Error).message}`, { cause: e });
  }
  const model = mod[kind];
  if (typeof model !== 'function') throw new Error(`${spec} exports no ${kind}`);
  return model as { new (data: unknown): { validate(): void } };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Schema problems of one object, [] when it is valid. */
async function schemaProblems(o: K8sObject): Promise<string[]> {
  const where = `${o.apiVersion} ${o.kind} ${o.metadata?.name}`;
  const problems: string[] = [];
  try {
    const Model = await modelFor(o.apiVersion, o.kind);
    new Model(o).validate();
  } catch (e) {
    problems.push(`${where}: ${(e as Error).message}`);
  }
  // What the API server checks beyond the OpenAPI schema, and that an operator would trip over.
  const name = o.metadata?.name ?? '';
  const nameRule = o.kind === 'Service' ? DNS_1035_LABEL : DNS_LABEL;
  if (!nameRule.test(name) || name.length > 63) problems.push(`${where}: metadata.name is not a valid ${o.kind === 'Service' ? 'DNS-1035' : 'DNS-1123'} label`);
  if (o.metadata?.namespace !== undefined && !DNS_LABEL.test(o.metadata.namespace)) problems.push(`${where}: bad namespace`);
  for (const [k, v] of Object.entries(o.metadata?.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) problems.push(`${where}: label ${k}=${String(v)} is not a valid label value`);
  }
  for (const [k, v] of Object.entries(o.metadata?.annotations ?? {})) {
    if (typeof v !== 'string') problems.push(`${where}: annotation ${k} is not a string`);
  }
  if (o.kind === 'ConfigMap') {
    for (const [k, v] of Object.entries(o.data ?? {})) if (typeof v !== 'string') problems.push(`${where}: data.${k} is not a string`);
  }
  return problems;
}

/** Every metric the gateway exports: its own (per the runtime contract) and prom-client's defaults. */
function exportedMetrics(): Map<string, Set<string>> {
  const metrics = new Map<string, Set<string>>();
  const add = (name: string, labels: string[]) => metrics.set(name, new Set(labels));
  const histogram = (name: string, labels: string[]) => {
    add(`${name}_bucket`, [...labels, 'le']);
    add(`${name}_sum`, labels);
    add(`${name}_count`, labels);
  };
  add('mcp_job_gateway_tool_calls_total', ['tool', 'backend_kind', 'backend', 'outcome']);
  histogram('mcp_job_gateway_tool_call_duration_seconds', ['tool', 'backend_kind', 'backend']);
  add('mcp_job_gateway_backend_requests_total', ['backend_kind', 'backend', 'operation', 'status_class']);
  histogram('mcp_job_gateway_backend_request_duration_seconds', ['backend_kind', 'backend', 'operation']);
  add('mcp_job_gateway_auth_failures_total', ['reason']);
  add('mcp_job_gateway_http_requests_in_flight', []);
  add('mcp_job_gateway_backend_up', ['backend_kind', 'backend']);
  add('mcp_job_gateway_state_store_up', []);
  // prom-client's default process and Node.js metrics, as this prom-client version names them.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const m of registry.getMetricsAsArray() as unknown as { name: string; type: string; labelNames?: string[] }[]) {
    const labels = m.labelNames ?? [];
    if (m.type === 'histogram') histogram(m.name, labels);
    else if (m.type === 'summary') {
      add(m.name, [...labels, 'quantile']);
      add(`${m.name}_sum`, labels);
      add(`${m.name}_count`, labels);
    } else add(m.name, labels);
  }
  registry.clear();
  return metrics;
}

/** Labels Prometheus adds to every scraped series (a ServiceMonitor's target labels). */
const TARGET_LABELS = ['namespace', 'job', 'pod', 'instance', 'service', 'container', 'endpoint'];

interface QueryUse {
  metrics: string[];
  labels: { metric: string | undefined; label: string }[];
  groupingLabels: string[];
  errors: string[];
}

/** Parses a PromQL expression; returns the metric names it selects and the labels it names. */
function promqlUses(expr: string): QueryUse {
  const tree = promqlParser.parse(expr);
  const use: QueryUse = { metrics: [], labels: [], groupingLabels: [], errors: [] };
  const text = (n: { from: number; to: number }) => expr.slice(n.from, n.to);
  tree.iterate({
    enter(node) {
      if (node.type.isError) use.errors.push(`syntax error at ${node.from}: "${expr.slice(Math.max(0, node.from - 20), node.to + 20)}"`);
      if (node.name === 'VectorSelector') {
        const ident = node.node.getChild('Identifier');
        const metric = ident ? text(ident) : undefined;
        if (metric) use.metrics.push(metric);
        else use.errors.push(`a selector without a metric name: ${text(node)}`);
        const matchers = node.node.getChild('LabelMatchers');
        for (const m of matchers?.getChildren('UnquotedLabelMatcher') ?? []) {
          const label = m.getChild('LabelName');
          if (label) use.labels.push({ metric, label: text(label) });
        }
        return false;
      }
      if (node.name === 'GroupingLabels') {
        for (const l of node.node.getChildren('LabelName')) use.groupingLabels.push(text(l));
        return false;
      }
      return undefined;
    },
  });
  return use;
}

/** Grafana's variables replaced by values that make a query plain PromQL. */
function grafanaToPromql(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '5m')
    .replace(/\[\$\{?\w+\}?\]/g, '[5m]');
}

/** The PromQL inside a Grafana variable query: label_values(SELECTOR, label) → SELECTOR. */
function variableSelector(query: string): string | undefined {
  const m = /^label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\)$/.exec(query.trim());
  return m ? m[1] : undefined;
}

interface DashboardQuery {
  where: string;
  expr: string;
}

function dashboardQueries(dashboard: any): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const walk = (panels: any[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const selector = typeof q === 'string' ? variableSelector(q) : undefined;
    if (selector === undefined) throw new Error(`variable ${v.name}: query ${JSON.stringify(q)} is not label_values(selector, label)`);
    out.push({ where: `variable ${v.name}`, expr: selector });
  }
  return out;
}

/** Checks metric and label names of queries against what the gateway exports (plus `extra`). */
function metricProblems(queries: DashboardQuery[], extra: Map<string, Set<string>> = new Map()): string[] {
  const metrics = new Map([...exportedMetrics(), ...extra]);
  const allLabels = new Set([...TARGET_LABELS, ...[...metrics.values()].flatMap((s) => [...s])]);
  const problems: string[] = [];
  for (const q of queries) {
    const use = promqlUses(grafanaToPromql(q.expr));
    problems.push(...use.errors.map((e) => `${q.where}: ${e}`));
    for (const m of use.metrics) if (!metrics.has(m)) problems.push(`${q.where}: unknown metric ${m}`);
    for (const { metric, label } of use.labels) {
      const known = metric ? metrics.get(metric) : undefined;
      if (known && !known.has(label) && !TARGET_LABELS.includes(label)) problems.push(`${q.where}: ${metric} has no label ${label}`);
    }
    for (const label of use.groupingLabels) if (!allLabels.has(label)) problems.push(`${q.where}: grouping by unknown label ${label}`);
  }
  return problems;
}

async function promtoolCheckRules(groups: unknown, name: string): Promise<RunResult> {
  const file = join(work, `${name}.rules.yaml`);
  writeFileSync(file, stringifyYaml({ groups }));
  return run(promtool, ['check', 'rules', file]);
}

/** `node src/main.ts --check-config FILE` on a rendered config, with its secrets provided as a pod would get them. */
async function checkConfig(objects: K8sObject[], name: string): Promise<RunResult> {
  const dir = join(work, name);
  const secretsDir = join(dir, 'secrets');
  mkdirSync(secretsDir, { recursive: true });
  const container = gatewayContainer(objects);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const e of container.env ?? []) {
    // The state store's URL must be one (the gateway checks its form); every other secret is opaque.
    if (e.valueFrom?.secretKeyRef) env[e.name] = e.name === STATE_URL_ENV ? 'rediss://gateway:test-secret@state.example.internal:6380/0' : `test-secret-${e.valueFrom.secretKeyRef.key}`;
    else if (typeof e.value === 'string') env[e.name] = e.value;
  }
  // The Secret mounted as files: each file the config references exists, as it would in the pod.
  let text = find(objects, 'ConfigMap', `${RELEASE}-mcp-job-gateway`).data!['config.yaml']!;
  for (const m of text.matchAll(/\$\{file:([^}]+)\}/g)) {
    const path = m[1]!;
    if (!path.startsWith(`${SECRETS_DIR}/`)) throw new Error(`the config reads ${path}, outside the chart's secrets mount`);
    writeFileSync(join(secretsDir, path.slice(SECRETS_DIR.length + 1)), `test-secret-file\n`);
  }
  text = text.replaceAll(`\${file:${SECRETS_DIR}/`, `\${file:${secretsDir}/`);
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  return run(process.execPath, [join(REPO_ROOT, 'src', 'main.ts'), '--check-config', file], { env, timeoutMs: 60_000 });
}

// ---------------------------------------------------------------------------------------------

describe.each([
  { label: 'default values', values: undefined as string | undefined },
  { label: 'values-full.yaml (everything enabled)', values: VALUES_FULL },
])('helm chart with $label', ({ values }) => {
  it('passes helm lint --strict', async () => {
    const args = ['lint', '--strict', CHART, '--namespace', NAMESPACE];
    if (values) args.push('--values', values);
    const r = await run(helm, args);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('0 chart(s) failed');
  });

  it('renders objects that are valid against the Kubernetes schemas', async () => {
    const rendered = await templateRaw(values);
    expect(rendered.code, rendered.stderr).toBe(0);
    const objects = parseObjects(rendered.stdout);
    expect(objects.length).toBeGreaterThan(0);
    const problems = (await Promise.all(objects.map(schemaProblems))).flat();
    expect(problems).toEqual([]);
    // The same objects decoded strictly with the Kubernetes Go types: no unknown or misspelt field.
    const strict = await run(kubeStrict, [], { input: rendered.stdout });
    expect(strict.code, `${strict.stdout}${strict.stderr}`).toBe(0);
    expect(strict.stdout.trim().split('\n')).toHaveLength(objects.length);
    const ids = objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);
    expect(new Set(ids).size, `duplicate objects: ${ids.join(', ')}`).toBe(ids.length);
    expect(objects.map((o) => o.kind)).not.toContain('Secret');
  });

  it('renders a config.yaml that the gateway accepts (--check-config), with admin.port = the admin containerPort', async () => {
    const objects = await template(values);
    const config = renderedConfig(objects);
    const ports = Object.fromEntries((gatewayContainer(objects).ports as any[]).map((p) => [p.name, p.containerPort]));
    expect(config.admin.port).toBe(ports.admin);
    expect(config.server.port).toBe(ports.mcp);
    const r = await checkConfig(objects, values ? 'full' : 'default');
    expect(r.code, `--check-config rejected the chart's rendered config:\n${r.stderr}${r.stdout}`).toBe(0);
    expect(r.stdout).toContain('valid');
  });
});

describe('helm chart defaults', () => {
  it('runs at least 2 replicas: the HPA minimum, or replicaCount with autoscaling off', async () => {
    const objects = await template();
    const deployment = find(objects, 'Deployment');
    const hpa = find(objects, 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    // The HPA owns the replica count: helm upgrade must not reset it.
    expect(deployment.spec.replicas).toBeUndefined();

    const noHpa = await template(undefined, ['autoscaling.enabled=false']);
    expect(find(noHpa, 'Deployment').spec.replicas).toBeGreaterThanOrEqual(2);
    expect(noHpa.some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);

    const pdb = find(objects, 'PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable ?? pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });

  it('runs the container locked down: non-root 10001, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', async () => {
    const objects = await template();
    const pod = find(objects, 'Deployment').spec.template.spec;
    const c = gatewayContainer(objects);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext.capabilities.add).toBeUndefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    // /tmp is writable (an emptyDir) though the root filesystem is not.
    const tmp = (c.volumeMounts as any[]).find((m) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: any) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    expect(c.args).toEqual(['--config', '/etc/mcp-job-gateway/config.yaml']);
    expect(c.image).toBe('ghcr.io/OWNER/mcp-job-gateway:0.1.0');
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources.limits).toMatchObject({ memory: expect.any(String) });
  });

  it('probes /healthz and /readyz on the admin port, never on the MCP port', async () => {
    for (const values of [undefined, VALUES_FULL]) {
      const objects = await template(values);
      const c = gatewayContainer(objects);
      const portNumber = (p: string | number) => (typeof p === 'number' ? p : (c.ports as any[]).find((x) => x.name === p)?.containerPort);
      const admin = renderedConfig(objects).admin.port;
      expect(portNumber(c.livenessProbe.httpGet.port)).toBe(admin);
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(portNumber(c.readinessProbe.httpGet.port)).toBe(admin);
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(portNumber(c.startupProbe.httpGet.port)).toBe(admin);
      const service = find(objects, 'Service');
      expect((service.spec.ports as any[]).map((p) => [p.name, p.targetPort]).sort()).toEqual([
        ['admin', 'admin'],
        ['mcp', 'mcp'],
      ]);
    }
  });

  it('gives the gateway more time to stop than its shutdown grace, and refuses a shorter terminationGracePeriodSeconds', async () => {
    const objects = await template();
    const pod = find(objects, 'Deployment').spec.template.spec;
    const grace = renderedConfig(objects).server.shutdown_grace_seconds ?? 20;
    const preStop = gatewayContainer(objects).lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(grace + preStop);
    const r = await templateRaw(undefined, ['terminationGracePeriodSeconds=20']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('terminationGracePeriodSeconds');
  });

  it('gives the Service no session affinity: the gateway keeps no sessions, so any replica serves any call', async () => {
    for (const values of [undefined, VALUES_FULL]) {
      const objects = await template(values);
      const service = find(objects, 'Service').spec;
      expect(service.sessionAffinity).toBeUndefined(); // Kubernetes' default, None
      expect(service.sessionAffinityConfig).toBeUndefined();
      const server = renderedConfig(objects).server;
      for (const key of ['sessions', 'session_idle_timeout_seconds', 'max_sessions']) expect(server, key).not.toHaveProperty(key);
    }
    // The removed values are refused, not silently ignored.
    for (const key of ['sessionAffinity=ClientIP', 'sessionAffinityTimeoutSeconds=10800']) {
      const r = await templateRaw(undefined, [`service.${key}`]);
      expect(r.code, key).not.toBe(0);
      expect(r.stderr).toContain(key.split('=')[0]);
    }
  });

  it('refuses the removed session keys in config.server, which the gateway would refuse to start on', async () => {
    for (const set of ['config.server.sessions=stateless', 'config.server.session_idle_timeout_seconds=1800', 'config.server.max_sessions=100']) {
      const r = await templateRaw(undefined, [set]);
      expect(r.code, set).not.toBe(0);
      expect(r.stderr).toContain(`${set.split('=')[0]} was removed`);
      expect(r.stderr).toContain('delete this key');
    }
  });

  it('spreads the pods across nodes (preferred, not required)', async () => {
    const spec = find(await template(), 'Deployment').spec.template.spec;
    const byHost = (spec.topologySpreadConstraints as any[]).find((t) => t.topologyKey === 'kubernetes.io/hostname');
    expect(byHost).toMatchObject({ whenUnsatisfiable: 'ScheduleAnyway' });
    expect(byHost.labelSelector.matchLabels).toEqual(find(await template(), 'Deployment').spec.selector.matchLabels);
  });

  it('renders only the core objects unless the optional ones are enabled', async () => {
    const kinds = (await template()).map((o) => o.kind).sort();
    expect(kinds).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
  });

  it('rejects values of the wrong shape through values.schema.json', async () => {
    const r = await run(helm, ['lint', CHART, '--set', 'service.type=Headless', '--set', 'secrets.existingSecrets=typo']);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/service\/type|service\.type/);
    expect(`${r.stdout}${r.stderr}`).toMatch(/existingSecrets/);
  });

  it('refuses a loopback bind address, which the Service and the probes could not reach', async () => {
    const r = await templateRaw(undefined, ['config.admin.host=127.0.0.1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('config.admin.host');
  });
});

describe('helm chart NOTES.txt', () => {
  /** NOTES.txt as `helm install` prints it (helm template skips it; a copy of the chart renders it in a ConfigMap). */
  async function notes(valuesFile?: string): Promise<string> {
    const copy = join(work, `chart-notes-${Math.random().toString(36).slice(2)}`);
    cpSync(CHART, copy, { recursive: true });
    cpSync(join(CHART, 'templates', 'NOTES.txt'), join(copy, 'notes.txt'));
    writeFileSync(
      join(copy, 'templates', 'zz-notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes.txt") . | toJson }}\n',
    );
    const args = ['template', RELEASE, copy, '--namespace', NAMESPACE, '--show-only', 'templates/zz-notes.yaml'];
    if (valuesFile) args.push('--values', valuesFile);
    const r = await run(helm, args);
    expect(r.code, r.stderr).toBe(0);
    return parseObjects(r.stdout)[0]!.data!.notes!;
  }

  it('names the endpoint and warns about the placeholders of the default config', async () => {
    const text = await notes();
    expect(text).toContain(`http://${RELEASE}-mcp-job-gateway.${NAMESPACE}.svc:8080/mcp`);
    expect(text).toContain('example.com placeholders');
    expect(text).toContain('No MCP sessions: any replica answers any call');
    expect(text).not.toMatch(/sessionAffinity|Mcp-Session-Id|stateful/);
    const full = await notes(VALUES_FULL);
    expect(full).toContain('Exposed by the Ingress');
    expect(full).not.toContain('WARNING: the config references secrets');
    // Several replicas: whether they share their state, and how to make them.
    expect(text).toContain('Set stateStore.enabled to share them');
    expect(full).toContain('Shared state: every replica');
    expect(full).toContain('Secret mcp-job-gateway-state-store (key url)');
  });
});

describe('helm chart config checksum', () => {
  const checksum = (objects: K8sObject[]) => find(objects, 'Deployment').spec.template.metadata.annotations['checksum/config'] as string;

  it('is a sha256 that changes when, and only when, the rendered config changes', async () => {
    const base = checksum(await template());
    expect(base).toMatch(/^[a-f0-9]{64}$/);
    expect(checksum(await template())).toBe(base);
    expect(checksum(await template(undefined, ['config.server.max_body_bytes=131072']))).not.toBe(base);
    expect(checksum(await template(undefined, ['config.projects[0].reference=other']))).not.toBe(base);
    expect(checksum(await template(undefined, ['logLevel=debug']))).toBe(base);
  });
});

describe('helm chart secrets', () => {
  it('references the existing Secret by name (env and files) and never inlines or creates one', async () => {
    const objects = await template(VALUES_FULL);
    const full = parseYaml(readFileSync(VALUES_FULL, 'utf8'));
    const secretName: string = full.secrets.existingSecret;
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);

    const c = gatewayContainer(objects);
    for (const { env, key } of full.secrets.env as { env: string; key: string }[]) {
      const e = (c.env as any[]).find((x) => x.name === env);
      expect(e, `env ${env}`).toBeDefined();
      expect(e.value).toBeUndefined();
      expect(e.valueFrom).toEqual({ secretKeyRef: { name: secretName, key } });
    }
    const pod = find(objects, 'Deployment').spec.template.spec;
    const mount = (c.volumeMounts as any[]).find((m) => m.mountPath === SECRETS_DIR);
    expect(mount?.readOnly).toBe(true);
    const volume = (pod.volumes as any[]).find((v) => v.name === mount.name);
    expect(volume.secret.secretName).toBe(secretName);
    expect((volume.secret.items as any[]).map((i) => i.key)).toEqual(full.secrets.fileKeys);

    // The config keeps the references for the gateway to resolve: no value was substituted.
    const text = find(objects, 'ConfigMap', `${RELEASE}-mcp-job-gateway`).data!['config.yaml']!;
    expect(text).toContain('${env:AICONNECT_API_KEY}');
    expect(text).toContain(`\${file:${SECRETS_DIR}/veryfront-token}`);
  });

  it('refuses secrets.env or file mounts without secrets.existingSecret', async () => {
    for (const set of [['secrets.env[0].env=X', 'secrets.env[0].key=x'], ['secrets.mountAsFiles=true']]) {
      const r = await templateRaw(undefined, set);
      expect(r.code, set.join(' ')).not.toBe(0);
      expect(r.stderr).toContain('secrets.existingSecret');
    }
  });
});

describe('helm chart shared state (stateStore)', () => {
  const stateEnv = (objects: K8sObject[]) => ((gatewayContainer(objects).env ?? []) as any[]).find((e) => e.name === STATE_URL_ENV);

  it('is off by default: each pod keeps its state in memory and no store URL is read', async () => {
    const objects = await template();
    expect(renderedConfig(objects)).not.toHaveProperty('state');
    expect(stateEnv(objects)).toBeUndefined();
  });

  it("turns on state.store: redis with the store's URL from an existing Secret, never from the values", async () => {
    const objects = await template(VALUES_FULL);
    const full = parseYaml(readFileSync(VALUES_FULL, 'utf8'));
    expect(stateEnv(objects)).toEqual({ name: STATE_URL_ENV, valueFrom: { secretKeyRef: { name: full.stateStore.urlSecret.name, key: full.stateStore.urlSecret.key } } });
    expect(renderedConfig(objects).state).toEqual({
      store: 'redis',
      url: `\${env:${STATE_URL_ENV}}`,
      key_prefix: full.stateStore.keyPrefix,
      operation_timeout_ms: full.stateStore.operationTimeoutMs,
    });
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);

    // The least an operator writes: the Secret of the backends' credentials, the default key, and a
    // key prefix of this release's own, so two releases on one store never share state.
    const minimal = await template(undefined, ['stateStore.enabled=true', 'secrets.existingSecret=creds']);
    expect(stateEnv(minimal).valueFrom).toEqual({ secretKeyRef: { name: 'creds', key: 'state-store-url' } });
    expect(renderedConfig(minimal).state).toEqual({ store: 'redis', url: `\${env:${STATE_URL_ENV}}`, key_prefix: `${NAMESPACE}/${RELEASE}-mcp-job-gateway:` });
    const r = await checkConfig(minimal, 'state-minimal');
    expect(r.code, `--check-config rejected the rendered config:\n${r.stderr}${r.stdout}`).toBe(0);
    // Turning it on changes the config, so the pods roll.
    const checksum = (o: K8sObject[]) => find(o, 'Deployment').spec.template.metadata.annotations['checksum/config'];
    expect(checksum(minimal)).not.toBe(checksum(await template(undefined, ['secrets.existingSecret=creds'])));
  });

  it('refuses a store without a Secret for its URL, a config.state written beside it, and a NetworkPolicy that cuts the pods off it', async () => {
    const cases: [string[], string][] = [
      [['stateStore.enabled=true'], 'stateStore.urlSecret.name'],
      [['stateStore.enabled=true', 'secrets.existingSecret=creds', 'config.state.store=redis'], 'delete config.state'],
      [['stateStore.enabled=true', 'secrets.existingSecret=creds', 'networkPolicy.enabled=true'], 'networkPolicy.egress.stateStore.to'],
    ];
    for (const [set, message] of cases) {
      const r = await templateRaw(undefined, set);
      expect(r.code, set.join(' ')).not.toBe(0);
      expect(r.stderr).toContain(message);
    }
    // Without stateStore, a config.state written by hand (its URL from secrets.env) is the operator's own.
    const own = await template(undefined, ['config.state.store=memory']);
    expect(renderedConfig(own).state).toEqual({ store: 'memory' });
  });

  it('finds the master through Redis Sentinel: the Sentinels and master name in config.state, their password from a Secret', async () => {
    const set = [
      'stateStore.enabled=true',
      'secrets.existingSecret=creds',
      'stateStore.sentinel.sentinels={sentinel-0.redis:26379,sentinel-1.redis:26379}',
      'stateStore.sentinel.masterName=mymaster',
    ];
    const plain = await template(undefined, set);
    expect(renderedConfig(plain).state).toEqual({
      store: 'redis',
      url: `\${env:${STATE_URL_ENV}}`,
      key_prefix: `${NAMESPACE}/${RELEASE}-mcp-job-gateway:`,
      sentinels: ['sentinel-0.redis:26379', 'sentinel-1.redis:26379'],
      sentinel_master: 'mymaster',
    });
    const sentinelEnv = (objects: K8sObject[]) =>
      ((gatewayContainer(objects).env ?? []) as any[]).find((e) => e.name === 'MCP_JOB_GATEWAY_STATE_SENTINEL_PASSWORD');
    expect(sentinelEnv(plain)).toBeUndefined();

    const withPassword = await template(undefined, [...set, 'stateStore.sentinel.passwordSecret.name=sentinel', 'stateStore.sentinel.passwordSecret.key=pw']);
    expect(renderedConfig(withPassword).state.sentinel_password).toBe('${env:MCP_JOB_GATEWAY_STATE_SENTINEL_PASSWORD}');
    expect(sentinelEnv(withPassword)).toEqual({
      name: 'MCP_JOB_GATEWAY_STATE_SENTINEL_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'sentinel', key: 'pw' } },
    });
    const r = await checkConfig(withPassword, 'state-sentinel');
    expect(r.code, `--check-config rejected the rendered config:\n${r.stderr}${r.stdout}`).toBe(0);

    const cases: [string[], string][] = [
      [['stateStore.enabled=true', 'secrets.existingSecret=creds', 'stateStore.sentinel.sentinels={s:26379}'], 'needs stateStore.sentinel.masterName'],
      [['stateStore.enabled=true', 'secrets.existingSecret=creds', 'stateStore.sentinel.masterName=m'], 'needs stateStore.sentinel.sentinels'],
      [['stateStore.enabled=true', 'secrets.existingSecret=creds', 'stateStore.sentinel.sentinels={s}', 'stateStore.sentinel.masterName=m'], 'sentinels'],
    ];
    for (const [values, message] of cases) {
      const bad = await templateRaw(undefined, values);
      expect(bad.code, values.join(' ')).not.toBe(0);
      expect(bad.stderr).toContain(message);
    }
  });

  it("allows egress to the store's peers and ports, and only with the store on", async () => {
    const objects = await template(VALUES_FULL);
    const full = parseYaml(readFileSync(VALUES_FULL, 'utf8'));
    const egress = find(objects, 'NetworkPolicy').spec.egress as any[];
    const toStore = egress.filter((e) => JSON.stringify(e.to) === JSON.stringify(full.networkPolicy.egress.stateStore.to));
    expect(toStore).toHaveLength(1);
    expect(toStore[0].ports).toEqual([{ port: 6380, protocol: 'TCP' }]);

    const off = await template(VALUES_FULL, ['stateStore.enabled=false']);
    expect((find(off, 'NetworkPolicy').spec.egress as any[]).length).toBe(egress.length - 1);
    expect(JSON.stringify(find(off, 'NetworkPolicy').spec.egress)).not.toContain('valkey');
  });
});

describe('helm chart tracing (OpenTelemetry)', () => {
  const otelEnv = (objects: K8sObject[]) => ((gatewayContainer(objects).env ?? []) as any[]).filter((e) => e.name.startsWith('OTEL_'));
  /** The container's environment as the pod gets it, a Secret's key standing in for its value. */
  const podEnv = (objects: K8sObject[], secretValue: string) =>
    Object.fromEntries(otelEnv(objects).map((e) => [e.name, e.valueFrom?.secretKeyRef ? secretValue : (e.value as string)]));
  const COLLECTOR = 'http://otel-collector.observability:4318';

  it('is off by default: no OTEL_ variable, so the gateway exports nothing', async () => {
    const objects = await template();
    expect(otelEnv(objects)).toEqual([]);
    expect(tracingSettings(undefined, podEnv(objects, ''))).toBeUndefined();
    // A NetworkPolicy without tracing needs no collector peer and opens no port to one.
    const np = find(await template(undefined, ['networkPolicy.enabled=true']), 'NetworkPolicy');
    expect(JSON.stringify(np.spec.egress)).not.toContain('4318');
  });

  it('sets the standard variables from an endpoint alone: one new trace in ten, named after the release', async () => {
    const objects = await template(undefined, [`tracing.endpoint=${COLLECTOR}`]);
    expect(otelEnv(objects)).toEqual([
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: COLLECTOR },
      { name: 'OTEL_TRACES_SAMPLER', value: 'parentbased_traceidratio' },
      { name: 'OTEL_TRACES_SAMPLER_ARG', value: '0.1' },
      { name: 'OTEL_SERVICE_NAME', value: `${RELEASE}-mcp-job-gateway` },
    ]);
    // What the gateway makes of them (its own reading of the variables).
    expect(tracingSettings(undefined, podEnv(objects, ''))).toMatchObject({
      url: `${COLLECTOR}/v1/traces`,
      sampler: { kind: 'parentbased_traceidratio', ratio: 0.1 },
      serviceName: `${RELEASE}-mcp-job-gateway`,
      headers: {},
    });
    // The chart writes no config.tracing: that section stays the operator's (record_tool_arguments).
    expect(renderedConfig(objects)).not.toHaveProperty('tracing');
  });

  it("passes the values through, with the collector's headers from an existing Secret, never from the values", async () => {
    const objects = await template(VALUES_FULL);
    const full = parseYaml(readFileSync(VALUES_FULL, 'utf8'));
    expect(otelEnv(objects)).toEqual([
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: full.tracing.endpoint },
      { name: 'OTEL_TRACES_SAMPLER', value: full.tracing.sampler },
      { name: 'OTEL_TRACES_SAMPLER_ARG', value: full.tracing.samplerArg },
      { name: 'OTEL_SERVICE_NAME', value: full.tracing.serviceName },
      { name: 'OTEL_EXPORTER_OTLP_HEADERS', valueFrom: { secretKeyRef: { name: full.tracing.headersSecret.name, key: full.tracing.headersSecret.key } } },
    ]);
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    expect(tracingSettings(undefined, podEnv(objects, 'x-api-key=s3cr%3Dt'))).toMatchObject({
      url: `${full.tracing.endpoint}/v1/traces`,
      sampler: { kind: 'traceidratio', ratio: 0.25 },
      serviceName: full.tracing.serviceName,
      headers: { 'x-api-key': 's3cr=t' },
    });
    // A sampler that takes no ratio gets none; an unquoted number is a ratio too.
    const alwaysOn = otelEnv(await template(undefined, [`tracing.endpoint=${COLLECTOR}`, 'tracing.sampler=always_on']));
    expect(alwaysOn.map((e) => e.name)).not.toContain('OTEL_TRACES_SAMPLER_ARG');
    const all = otelEnv(await template(undefined, [`tracing.endpoint=${COLLECTOR}`, 'tracing.samplerArg=1']));
    expect(all.find((e) => e.name === 'OTEL_TRACES_SAMPLER_ARG')?.value).toBe('1');
  });

  it("allows egress to the collector's peers and port, and only with tracing on", async () => {
    const objects = await template(VALUES_FULL);
    const full = parseYaml(readFileSync(VALUES_FULL, 'utf8'));
    const egress = find(objects, 'NetworkPolicy').spec.egress as any[];
    const toCollector = egress.filter((e) => JSON.stringify(e.to) === JSON.stringify(full.networkPolicy.egress.tracing.to));
    expect(toCollector).toHaveLength(1);
    expect(toCollector[0].ports).toEqual([{ port: 4318, protocol: 'TCP' }]);

    const off = await template(VALUES_FULL, ['tracing.endpoint=']);
    expect(otelEnv(off)).toEqual([]);
    expect((find(off, 'NetworkPolicy').spec.egress as any[]).length).toBe(egress.length - 1);
    expect(JSON.stringify(find(off, 'NetworkPolicy').spec.egress)).not.toContain('opentelemetry-collector');
  });

  it('refuses a NetworkPolicy that cuts the pods off the collector, a traces URL for the base URL, and config.tracing keys that would override the values', async () => {
    const cases: [string[], string][] = [
      [['networkPolicy.enabled=true'], 'set networkPolicy.egress.tracing.to'],
      [['tracing.endpoint=http://otel-collector:4318/v1/traces'], 'drop /v1/traces'],
      [['config.tracing.enabled=false'], 'config.tracing.enabled is false'],
      [['config.tracing.endpoint=http://elsewhere:4318'], 'config.tracing.endpoint would override'],
      [['config.tracing.sampler.type=always_on'], 'config.tracing.sampler would override'],
      [['config.tracing.service_name=other'], 'config.tracing.service_name would override'],
    ];
    for (const [set, message] of cases) {
      const r = await templateRaw(undefined, [`tracing.endpoint=${COLLECTOR}`, ...set]);
      expect(r.code, set.join(' ')).not.toBe(0);
      expect(r.stderr).toContain(message);
    }
    // What only the config can say (tool arguments on spans) is the operator's to add.
    const own = await template(undefined, [`tracing.endpoint=${COLLECTOR}`, 'config.tracing.record_tool_arguments=true']);
    expect(renderedConfig(own).tracing).toEqual({ record_tool_arguments: true });
  });

  it('rejects a sampler the gateway does not know, a ratio outside 0..1 and a gRPC endpoint through values.schema.json', async () => {
    for (const [set, where] of [
      ['tracing.sampler=sometimes', 'tracing/sampler'],
      ['tracing.samplerArg=2', 'tracing/samplerArg'],
      ['tracing.samplerArg=ten', 'tracing/samplerArg'],
      ['tracing.endpoint=grpc://otel-collector:4317', 'tracing/endpoint'],
    ]) {
      const r = await run(helm, ['lint', CHART, '--set', set!]);
      expect(r.code, set).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`, set).toContain(where);
    }
  });
});

describe('helm chart optional objects (values-full.yaml)', () => {
  it('renders a ServiceMonitor scraping /metrics on the admin port', async () => {
    const objects = await template(VALUES_FULL);
    const sm = find(objects, 'ServiceMonitor');
    expect(sm.spec.endpoints).toHaveLength(1);
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'admin', path: '/metrics' });
    expect(sm.spec.selector.matchLabels).toEqual(find(objects, 'Deployment').spec.selector.matchLabels);
    expect(find(objects, 'Service').metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
  });

  it('renders a PrometheusRule whose groups pass promtool check rules and query only exported metrics', async () => {
    const objects = await template(VALUES_FULL);
    const rule = find(objects, 'PrometheusRule');
    const r = await promtoolCheckRules(rule.spec.groups, 'prometheusrule');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS/);

    const rules = (rule.spec.groups as any[]).flatMap((g) => g.rules as any[]);
    const alerts = rules.map((x) => x.alert);
    expect(alerts).toEqual(
      expect.arrayContaining([
        'MCPJobGatewayToolCallErrorsHigh',
        'MCPJobGatewayBackendDown',
        'MCPJobGatewayAuthFailureSpike',
        'MCPJobGatewayStateStoreDown',
        'MCPJobGatewayNoReadyReplicas',
      ]),
    );
    for (const x of rules) {
      expect(x.labels?.severity, x.alert).toMatch(/^(warning|critical|info)$/);
      expect(x.annotations?.summary, x.alert).toBeTruthy();
      expect(x.annotations?.description, x.alert).toBeTruthy();
    }
    // Outside the gateway: the scrape's `up` and kube-state-metrics' Deployment availability.
    const extra = new Map([
      ['up', new Set<string>()],
      ['kube_deployment_status_replicas_available', new Set(['deployment'])],
    ]);
    expect(metricProblems(rules.map((x) => ({ where: x.alert, expr: x.expr })), extra)).toEqual([]);
    expect(rules.find((x) => x.alert === 'MCPJobGatewayBackendDown').expr).toContain('mcp_job_gateway_backend_up');
    expect(rules.find((x) => x.alert === 'MCPJobGatewayStateStoreDown').expr).toContain('mcp_job_gateway_state_store_up');
  });

  it('renders a NetworkPolicy: MCP from the configured peers, admin from monitoring, egress DNS + configured CIDRs', async () => {
    const objects = await template(VALUES_FULL);
    const np = find(objects, 'NetworkPolicy');
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const byPort = (port: string) => (np.spec.ingress as any[]).find((i) => i.ports.some((p: any) => p.port === port));
    expect(byPort('mcp').from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe('ingress-nginx');
    expect(byPort('admin').from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe('monitoring');
    const egressPorts = (np.spec.egress as any[]).flatMap((e) => (e.ports ?? []).map((p: any) => `${p.port}/${p.protocol}`));
    expect(egressPorts).toEqual(expect.arrayContaining(['53/UDP', '53/TCP', '8188/TCP', '443/TCP']));
  });

  it('renders an Ingress for the MCP path and the OAuth metadata on the host of public_url', async () => {
    const objects = await template(VALUES_FULL);
    const ing = find(objects, 'Ingress');
    expect(ing.spec.rules).toHaveLength(1);
    expect(ing.spec.rules[0].host).toBe(new URL(renderedConfig(objects).server.public_url).hostname);
    const paths = (ing.spec.rules[0].http.paths as any[]).map((p) => p.path);
    expect(paths).toEqual(['/mcp', '/.well-known/oauth-protected-resource']);
    for (const p of ing.spec.rules[0].http.paths) expect(p.backend.service).toEqual({ name: find(objects, 'Service').metadata.name, port: { name: 'mcp' } });
  });

  it('ships the Grafana dashboard in a ConfigMap for the sidecar', async () => {
    const objects = await template(VALUES_FULL);
    const cm = find(objects, 'ConfigMap', '-dashboard');
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data!['mcp-job-gateway.json']!)).toEqual(JSON.parse(readFileSync(DASHBOARD, 'utf8')));
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const queries = dashboardQueries(dashboard);

  it('parses, has panels and queries', () => {
    expect(dashboard.uid).toBeTruthy();
    expect(dashboard.title).toBeTruthy();
    expect(queries.length).toBeGreaterThan(10);
  });

  it('queries only metrics (and labels) the gateway exports', () => {
    expect(metricProblems(queries)).toEqual([]);
    // Every metric of the gateway's own appears on the dashboard.
    const used = new Set(queries.flatMap((q) => promqlUses(grafanaToPromql(q.expr)).metrics));
    for (const m of [
      'mcp_job_gateway_tool_calls_total',
      'mcp_job_gateway_tool_call_duration_seconds_bucket',
      'mcp_job_gateway_backend_requests_total',
      'mcp_job_gateway_backend_request_duration_seconds_bucket',
      'mcp_job_gateway_auth_failures_total',
      'mcp_job_gateway_http_requests_in_flight',
      'mcp_job_gateway_backend_up',
      'mcp_job_gateway_state_store_up',
    ]) {
      expect(used, m).toContain(m);
    }
  });

  it("queries metrics that the gateway's own registry exports, with those labels", async () => {
    // The contract above is what the chart was built against; this checks it against the code.
    const { createMetrics } = (await import('../../src/observability/metrics.ts')) as {
      createMetrics: () => { registry: Registry };
    };
    const registry = createMetrics().registry;
    const real = new Map<string, Set<string>>();
    for (const m of registry.getMetricsAsArray() as unknown as { name: string; type: string; labelNames?: string[] }[]) {
      const labels = m.labelNames ?? [];
      const suffixes = m.type === 'histogram' ? ['_bucket', '_sum', '_count'] : m.type === 'summary' ? ['', '_sum', '_count'] : [''];
      for (const s of suffixes) real.set(`${m.name}${s}`, new Set([...labels, ...(s === '_bucket' ? ['le'] : m.type === 'summary' && s === '' ? ['quantile'] : [])]));
    }
    registry.clear();
    const ruleObjects = await template(VALUES_FULL);
    const rules = (find(ruleObjects, 'PrometheusRule').spec.groups as any[]).flatMap((g) => g.rules as any[]);
    const all = [...queries, ...rules.map((x) => ({ where: x.alert as string, expr: x.expr as string }))];
    const problems: string[] = [];
    for (const q of all) {
      const use = promqlUses(grafanaToPromql(q.expr));
      for (const m of use.metrics) {
        if (m === 'up' || m.startsWith('kube_')) continue;
        if (!real.has(m)) problems.push(`${q.where}: the gateway does not export ${m}`);
      }
      for (const { metric, label } of use.labels) {
        const known = metric ? real.get(metric) : undefined;
        if (known && !known.has(label) && !TARGET_LABELS.includes(label)) problems.push(`${q.where}: the gateway's ${metric} has no label ${label}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has queries that promtool accepts as PromQL', async () => {
    const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: grafanaToPromql(q.expr) }));
    const r = await promtoolCheckRules([{ name: 'dashboard', rules }], 'dashboard');
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  });
});
