#!/usr/bin/env node
// The command line: with no --config, the sandbox (config/sandbox.yaml with its simulated backends);
// --config FILE to serve a real config; --check-config FILE to validate one and exit.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createLogger } from './observability/logger.ts';
import { ConfigError, loadConfigFile } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { createGateway } from './gateway.ts';
import { offsetSandboxPorts, portSettings, PortOffsetError } from './sandbox/ports.ts';
import { startSandbox, type Sandbox } from './sandbox/runner.ts';
import { SandboxStateError, sandboxStateDir } from './sandbox/state.ts';
import { SEED_STATES } from './simulation/simulation.ts';
import { VERSION } from './version.ts';

const USAGE = `mcp-job-gateway ${VERSION}

Usage:
  mcp-job-gateway                      run on the built-in sandbox backends (config/sandbox.yaml)
  mcp-job-gateway --config FILE        run on a config file
  mcp-job-gateway --check-config FILE  validate a config file and exit (0 valid, 2 invalid)

Options:
  --port N          listen on port N (also: PORT environment variable)
  --port-offset N   move every port of a sandbox config by N (MCP, admin, issuer, simulated backends);
                    --port or PORT still sets the MCP port
  --host ADDR       bind address (default from the config)
  -h, --help        this text

Environment: LOG_LEVEL (default info) sets the log level. The sandbox issuer keeps its key and
client registrations in $XDG_CACHE_HOME/mcp-job-gateway/sandbox (default ~/.cache/…).`;

const SANDBOX_CONFIG = fileURLToPath(new URL('../config/sandbox.yaml', import.meta.url));

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        'check-config': { type: 'string' },
        port: { type: 'string' },
        'port-offset': { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  if (args['check-config'] !== undefined) {
    try {
      const cfg = loadConfigFile(args['check-config']);
      process.stdout.write(`${args['check-config']}: valid (${cfg.projects.length} project${cfg.projects.length === 1 ? '' : 's'})\n`);
      return 0;
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`${e.message}\n`);
        return 2;
      }
      throw e;
    }
  }

  let config: Config;
  const file = args.config ?? SANDBOX_CONFIG;
  try {
    config = loadConfigFile(file);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const offsetText = args['port-offset'];
  if (offsetText !== undefined) {
    const offset = Number(offsetText);
    if (offsetText.trim() === '' || !Number.isInteger(offset)) {
      process.stderr.write(`invalid port offset "${offsetText}"\n`);
      return 2;
    }
    try {
      config = offsetSandboxPorts(config, offset);
    } catch (e) {
      if (!(e instanceof PortOffsetError)) throw e;
      process.stderr.write(`${file}: ${e.message}\n`);
      return 2;
    }
  }
  const portText = args.port ?? process.env.PORT;
  if (portText !== undefined) {
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      process.stderr.write(`invalid port "${portText}"\n`);
      return 2;
    }
    config = { ...config, server: { ...config.server, port } };
  }
  if (args.host !== undefined) config = { ...config, server: { ...config.server, host: args.host } };

  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info' });
  let sandbox: Sandbox | undefined;
  let gateway: ReturnType<typeof createGateway>;
  try {
    gateway = createGateway(config, { logger });
  } catch (e) {
    // Settings read from the environment (the OTEL_* variables) that the gateway cannot honour.
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  let mcpUrl: string;
  let adminUrl: string | undefined;
  const stateDir = sandboxStateDir(process.env);
  try {
    if (config.sandbox) sandbox = await startSandbox(config, { stateDir });
    ({ mcpUrl, adminUrl } = await gateway.listen());
  } catch (e) {
    await sandbox?.close();
    await gateway.close();
    if (e instanceof SandboxStateError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException & { port?: number; address?: string };
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
      const mcpPortFrom = args.port !== undefined ? '--port' : portText !== undefined ? 'PORT' : undefined;
      process.stderr.write(`${listenFailure(err, config, file, { mcpPortFrom, offset: offsetText })}\n`);
      return 1;
    }
    throw e;
  }
  const tokens = sandbox?.issuer && config.auth.mode === 'oauth' ? await sandboxTokens(sandbox, config, mcpUrl) : undefined;
  process.stdout.write(banner(config, mcpUrl, adminUrl, file, sandbox, tokens, stateDir));

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await gateway.close(); // waits up to server.shutdown_grace_seconds for in-flight calls
  await sandbox?.close();
  logger.info('stopped');
  await new Promise<void>((resolve) => logger.flush(() => resolve())); // the writer is asynchronous
  return 0;
}

/**
 * Why the gateway or a sandbox service could not listen, naming the port, the setting that owns it
 * and the way to move it: one message for the MCP port, the admin port and each sandbox service.
 */
function listenFailure(
  err: NodeJS.ErrnoException & { port?: number; address?: string },
  config: Config,
  file: string,
  given: { mcpPortFrom: string | undefined; offset: string | undefined },
): string {
  const port = err.port ?? 0;
  const settings = portSettings(config, port);
  const owners = settings.map((s) => (s === 'server.port' && given.mcpPortFrom ? `the MCP port (${given.mcpPortFrom})` : s));
  const moved = given.offset === undefined ? '' : ` moved by --port-offset ${given.offset}`;
  const owner = owners.length > 0 ? `, the port of ${owners.join(' and ')} in ${file}${moved}` : '';
  const fixes = ['stop what uses it'];
  if (settings.includes('server.port')) fixes.push('choose another MCP port with --port or PORT');
  if (config.sandbox) fixes.push('move every sandbox port with --port-offset N (npm start -- --port-offset 100)');
  else if (settings.includes('admin.port')) fixes.push(`change admin.port in ${file}`);
  const reason = err.code === 'EACCES' ? 'not allowed' : 'in use';
  return `cannot listen on ${err.address ?? ''}:${port} (${err.code}: ${reason})${owner}; ${fixes.join(', or ')}`;
}

/** Two tokens from the sandbox issuer: one with both scopes, one that can only read. */
async function sandboxTokens(sandbox: Sandbox, config: Config, mcpUrl: string): Promise<{ full: string; readOnly: string }> {
  const auth = config.auth.mode === 'oauth' ? config.auth : undefined;
  const audience = auth?.audience ?? mcpUrl;
  const scopes = auth?.scopes ?? { read: 'jobs:read', cancel: 'jobs:cancel' };
  return {
    full: await sandbox.issuer!.mint({ audience, scopes: [scopes.read, scopes.cancel] }),
    readOnly: await sandbox.issuer!.mint({ audience, scopes: [scopes.read], subject: 'sandbox-reader' }),
  };
}

function banner(
  config: Config,
  mcpUrl: string,
  adminUrl: string | undefined,
  file: string,
  sandbox: Sandbox | undefined,
  tokens: { full: string; readOnly: string } | undefined,
  stateDir: string,
): string {
  const lines = [
    `mcp-job-gateway ${VERSION} is serving ${file}`,
    `  MCP endpoint: ${mcpUrl}  (MCP 2026-07-28 and 2025-era clients, no sessions; auth: ${config.auth.mode})`,
    ...(adminUrl ? [`  admin:        ${adminUrl}/metrics  ${adminUrl}/healthz  ${adminUrl}/readyz  ${adminUrl}/backends`] : []),
    `  projects:`,
  ];
  for (const p of config.projects) {
    const b = p.backend;
    const where = b.kind === 'comfyui' ? `hosts ${b.hosts.map((h) => h.name).join(', ')}` : `backend ${b.name ?? p.reference}`;
    lines.push(`    ${p.reference}  (${b.kind}, ${where}${p.aliases.length > 0 ? `; aliases ${p.aliases.join(', ')}` : ''})`);
    const seeds = sandbox?.seedsByProject.get(p.reference);
    if (seeds) {
      for (const state of SEED_STATES) {
        const ids = seeds[state].slice(0, 2);
        if (ids.length > 0) lines.push(`      ${state.padEnd(13)} ${ids.join('  ')}`);
      }
    }
  }
  if (tokens) {
    lines.push(
      '',
      '  Bearer tokens from the sandbox issuer (valid 12 hours):',
      `    jobs:read jobs:cancel  ${tokens.full}`,
      `    jobs:read only         ${tokens.readOnly}`,
    );
    const issuer = sandbox?.issuer;
    if (issuer?.authorizationServer) {
      lines.push(
        '  MCP clients that sign in by themselves (Inspector, Claude Code, VS Code) need only the MCP endpoint:',
        '  the sandbox issuer is their OAuth authorization server and signs you in as sandbox-user at once.',
        `  Its key and their sign-ins outlive a restart, in ${stateDir}.`,
      );
    } else if (issuer?.note) {
      lines.push(`  ${issuer.note}`);
    }
  }
  if (sandbox) {
    lines.push(
      '',
      '  These are simulated backends (the sandbox). Try it:',
      `    npx -y @modelcontextprotocol/inspector --cli ${mcpUrl} --transport http --method tools/call \\`,
      ...(tokens ? [`      --header "Authorization: Bearer <a token above>" \\`] : []),
      `      --tool-name get_job_status --tool-arg project_reference=${config.projects[0]?.reference ?? 'studio-a'} --tool-arg job_id=<an id above>`,
    );
  }
  return `${lines.join('\n')}\n`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`mcp-job-gateway failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
