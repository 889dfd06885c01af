#!/usr/bin/env node
// Runs one simulated backend alone on a port, for trying an agent or a gateway against it without
// GPUs or SaaS accounts:  npm run sandbox -- --kind comfyui --port 8188
import { parseArgs } from 'node:util';
import { isSandboxServiceName, sandboxService, SANDBOX_SERVICE_NAMES } from '../backends/registry.ts';
import { SEED_STATES } from '../simulation/simulation.ts';

// The flags a service takes follow from what its kind's simulation declares (the backend registry).
const SERVICES = SANDBOX_SERVICE_NAMES.map(sandboxService);
const WITH_CREDENTIAL = SERVICES.filter((s) => s.defaultCredential !== undefined).map((s) => s.name);
const WITH_PROJECT = SERVICES.filter((s) => s.defaultProject !== undefined).map((s) => `${s.name}; default ${s.defaultProject}`);
const USAGE = `Usage: npm run sandbox -- --kind KIND [--port N] [--host ADDR] [--credential SECRET] [--project SLUG]

  --kind         ${SANDBOX_SERVICE_NAMES.join(' | ')}
  --port         port to listen on (default: any free port)
  --host         address to bind (default 127.0.0.1)
  --credential   the API key / token the simulation accepts (${WITH_CREDENTIAL.join(', ')})
  --project      project slug the token may access (${WITH_PROJECT.join(', ')})`;

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      options: {
        kind: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        credential: { type: 'string' },
        project: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const kind = values.kind;
  const port = values.port === undefined ? 0 : Number(values.port);
  if (kind === undefined || !isSandboxServiceName(kind) || !Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const service = sandboxService(kind);
  const credential = values.credential ?? service.defaultCredential;
  const sim = await service.start({
    port,
    host: values.host ?? '127.0.0.1',
    namespace: `${kind}:standalone`,
    ordinal: 0,
    projects: [],
    standalone: { credential, project: values.project },
  });
  const lines = [`simulated ${kind} listening on ${sim.server.url}${service.basePath}`];
  if (credential) lines.push(`  accepts: Authorization: Bearer ${credential}`);
  for (const state of SEED_STATES) if (sim.seeds[state].length > 0) lines.push(`  ${state.padEnd(13)} ${sim.seeds[state].join('  ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await sim.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  },
);
