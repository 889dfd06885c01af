// Loading a config file: YAML → secret references resolved → one zod validation → cross-field
// checks. Every problem is reported with its path, all at once, so an operator fixes a file in one go.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseDocument } from 'yaml';
import * as z from 'zod';
import { configSchema, type Config } from './schema.ts';

export interface ConfigProblem {
  /** Dotted path into the file, e.g. `projects.1.backend.hosts.0.url`; `(file)` for the file itself. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(source: string, problems: readonly ConfigProblem[]) {
    super(
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadOptions {
  /** Where `${env:NAME}` is looked up; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** How `${file:/path}` is read; defaults to readFileSync (trailing newline trimmed). */
  readSecretFile?: (path: string) => string;
}

const SECRET_REF = /\$\{(env|file):([^}]*)\}/g;

/** Parses and validates config text; throws ConfigError listing every problem. */
export function parseConfig(text: string, source: string, options: LoadOptions = {}): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({ path: '(file)', message: e.message.split('\n')[0] ?? e.message })),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, [{ path: '(file)', message: 'expected a YAML mapping at the top level' }]);
  }
  const problems: ConfigProblem[] = [];
  // A section whose keys are all commented out parses as null: it means "defaults", not an error.
  const sections = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null));
  const resolved = resolveSecrets(sections, [], problems, options);
  const parsed = configSchema.safeParse(resolved);
  if (!parsed.success) {
    // A key whose secret did not resolve is already reported; don't add "too short" for it.
    const reported = new Set(problems.map((p) => p.path));
    problems.push(...parsed.error.issues.map(issueToProblem).filter((p) => !reported.has(p.path)));
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  const config = parsed.data!;
  const semantic = checkConfig(config);
  if (semantic.length > 0) throw new ConfigError(source, semantic);
  return config;
}

export function loadConfigFile(path: string, options: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [{ path: '(file)', message: `cannot read: ${(e as Error).message}` }]);
  }
  return parseConfig(text, path, options);
}

/** Checks that span several fields and that a schema cannot express. */
function checkConfig(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.auth.mode === 'none' && !isLoopback(config.server.host)) {
    problems.push({
      path: 'auth.mode',
      message: `"none" turns caller authentication off, which is allowed only when server.host is a loopback address (it is "${config.server.host}")`,
    });
  }
  if (!isLoopback(config.server.host) && config.server.public_url === undefined && config.server.allowed_hosts.length === 0) {
    problems.push({
      path: 'server.public_url',
      message:
        'set public_url (or server.allowed_hosts) when binding a non-loopback address, so the gateway knows which Host names to accept',
    });
  }
  if (config.auth.mode === 'oauth') {
    if (!isLoopback(config.server.host) && config.server.public_url === undefined && config.auth.audience === undefined) {
      problems.push({
        path: 'server.public_url',
        message: 'set public_url (the URL clients use; it is the token audience) when binding a non-loopback address',
      });
    }
    config.auth.issuers.forEach((issuer, i) => {
      if (issuer.jwks_file === undefined) return;
      try {
        const jwks = JSON.parse(readFileSync(issuer.jwks_file, 'utf8')) as { keys?: unknown };
        if (!Array.isArray(jwks.keys)) throw new Error('no "keys" array');
      } catch (e) {
        problems.push({ path: `auth.issuers.${i}.jwks_file`, message: `not a readable JWKS file: ${(e as Error).message}` });
      }
    });
  }
  return problems;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

function resolveSecrets(value: unknown, path: (string | number)[], problems: ConfigProblem[], options: LoadOptions): unknown {
  if (typeof value === 'string') {
    return value.replace(SECRET_REF, (_m, kind: string, ref: string) => {
      const where = path.join('.');
      if (kind === 'env') {
        const v = (options.env ?? process.env)[ref];
        if (v === undefined || v === '') {
          problems.push({ path: where, message: `environment variable ${ref} is not set` });
          return '';
        }
        return v;
      }
      try {
        return (options.readSecretFile ?? ((p: string) => readFileSync(p, 'utf8')))(ref).replace(/\r?\n$/, '');
      } catch (e) {
        problems.push({
          path: where,
          message: `cannot read secret file ${ref}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        });
        return '';
      }
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveSecrets(v, [...path, i], problems, options));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveSecrets(v, [...path, k], problems, options)]));
  }
  return value;
}

/** Keys of earlier releases, with what to do about them. */
const REMOVED_SERVER_KEYS: Record<string, string> = {
  sessions: 'removed: the gateway serves both protocol eras without sessions (any replica answers any call); delete this key',
  session_idle_timeout_seconds: 'removed with MCP sessions; delete this key',
  max_sessions: 'removed with MCP sessions; delete this key',
};

function issueToProblem(issue: z.core.$ZodIssue): ConfigProblem {
  const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys' && path === 'server') {
    const removed = issue.keys.filter((k) => REMOVED_SERVER_KEYS[k]);
    if (removed.length === issue.keys.length)
      return { path: `server.${removed.join(', server.')}`, message: removed.map((k) => REMOVED_SERVER_KEYS[k]).join('; ') };
  }
  return { path, message: issue.message };
}

/** The config schema as JSON Schema, for editors (`# yaml-language-server: $schema=...`). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
