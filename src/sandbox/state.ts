// Where the sandbox issuer keeps what must outlive a restart: its signing key and, per issuer
// address, the authorization server's client registrations, sessions, grants and refresh tokens. Clients keep
// their client id and tokens across a restart of `npm start`; without these files the issuer would
// forget them and refuse both (invalid_client). The folder is the project's cache folder, as for its
// tools: $XDG_CACHE_HOME/mcp-job-gateway/sandbox, else ~/.cache/mcp-job-gateway/sandbox. Files are
// written whole (a temporary file renamed over the old one) and readable by their owner only: they
// hold a private key and refresh tokens.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The sandbox's state folder for this environment (the caller passes it on; tests pass their own). */
export function sandboxStateDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'mcp-job-gateway', 'sandbox');
}

/** A state file that cannot be read or written, or is not what the sandbox wrote: start-up stops and says which file. */
export class SandboxStateError extends Error {}

/** One JSON file of the state folder. */
export interface StateFile {
  readonly path: string;
  /** The file's value, or undefined when there is none yet. */
  read(): unknown;
  write(value: unknown): void;
  /** An error naming this file and what to do about it. */
  invalid(reason: string): SandboxStateError;
}

export function stateFile(dir: string, name: string): StateFile {
  const path = join(dir, name);
  const invalid = (reason: string) =>
    new SandboxStateError(
      `the sandbox issuer's state in ${path} ${reason}; delete the file to start afresh (MCP clients then sign in again)`,
    );
  const unusable = (e: unknown) =>
    new SandboxStateError(
      `cannot use the sandbox issuer's state file ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); set XDG_CACHE_HOME to a folder you can write`,
    );
  return {
    path,
    invalid,
    read() {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw unusable(e);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw invalid('is not JSON');
      }
    },
    write(value) {
      const temporary = `${path}.${process.pid}.tmp`;
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(temporary, `${JSON.stringify(value)}\n`, { mode: 0o600 });
        renameSync(temporary, path);
      } catch (e) {
        throw unusable(e);
      }
    },
  };
}
