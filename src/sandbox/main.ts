#!/usr/bin/env node
// Runs one simulated backend alone on a port, for trying an agent or a gateway against it without
// GPUs or SaaS accounts:  npm run sandbox -- --kind comfyui --port 8188
import { parseArgs } from 'node:util';
import { startAgentJobsSim } from '../backends/agent-jobs/simulation/server.ts';
import { startComfycontrolSim } from '../backends/comfycontrol/simulation/server.ts';
import { startComfyuiSim } from '../backends/comfyui/simulation/server.ts';
import { startProjectRuntimeSim } from '../backends/project-runtime/simulation/server.ts';
import { SEED_STATES, type Simulation } from '../simulation/simulation.ts';

const KINDS = ['comfyui', 'comfyui_legacy', 'agent_jobs', 'project_runtime', 'comfycontrol'] as const;
const USAGE = `Usage: npm run sandbox -- --kind KIND [--port N] [--host ADDR] [--credential SECRET] [--project SLUG]

  --kind         ${KINDS.join(' | ')}
  --port         port to listen on (default: any free port)
  --host         address to bind (default 127.0.0.1)
  --credential   the API key / token the simulation accepts (agent_jobs, project_runtime, comfycontrol)
  --project      project slug the token may access (project_runtime; default dreamy-haven)`;

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
  const kind = values.kind as (typeof KINDS)[number] | undefined;
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!kind || !KINDS.includes(kind) || !Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const common = { port, host: values.host ?? '127.0.0.1', namespace: `${kind}:standalone` };
  let sim: Simulation;
  let credential = values.credential;
  switch (kind) {
    case 'comfyui':
    case 'comfyui_legacy':
      sim = await startComfyuiSim({ ...common, api: kind === 'comfyui' ? 'jobs' : 'legacy' });
      break;
    case 'agent_jobs':
      credential ??= 'sandbox-agent-jobs-key';
      sim = await startAgentJobsSim({ ...common, apiKey: credential });
      break;
    case 'project_runtime':
      credential ??= 'vf_sandbox_token';
      sim = await startProjectRuntimeSim({ ...common, token: credential, projects: [values.project ?? 'dreamy-haven'] });
      break;
    case 'comfycontrol':
      credential ??= 'cfc_sandbox_token';
      sim = await startComfycontrolSim({ ...common, token: credential });
      break;
  }
  const lines = [`simulated ${kind} listening on ${sim.server.url}${kind === 'agent_jobs' ? '/api/v0' : ''}`];
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
