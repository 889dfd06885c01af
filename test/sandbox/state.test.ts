// What the sandbox issuer keeps across restarts, in a state folder each test makes for itself (the
// user's cache folder is only ever named, never written, here).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { startSandboxIssuer } from '../../src/sandbox/issuer.ts';
import { createMemoryStore } from '../../src/sandbox/oauth/adapter.ts';
import { SandboxStateError, sandboxStateDir, stateFile } from '../../src/sandbox/state.ts';

const newDir = () => join(mkdtempSync(join(tmpdir(), 'sandbox-state-')), 'sandbox');

describe('sandboxStateDir', () => {
  it('is the project cache folder: $XDG_CACHE_HOME/mcp-job-gateway/sandbox, else ~/.cache/mcp-job-gateway/sandbox', () => {
    expect(sandboxStateDir({ XDG_CACHE_HOME: '/var/cache/me' })).toBe('/var/cache/me/mcp-job-gateway/sandbox');
    expect(sandboxStateDir({})).toBe(join(homedir(), '.cache', 'mcp-job-gateway', 'sandbox'));
  });
});

describe('the authorization server store with a state file', () => {
  it('reads back registrations, sessions, grants and refresh tokens that have not expired, and nothing short-lived', async () => {
    let now = 1_000_000;
    const file = stateFile(newDir(), 'issuer-1.json');
    const first = createMemoryStore(() => now, file);
    await first.adapterFor('Client').upsert('c1', { client_id: 'c1' });
    await first.adapterFor('Session').upsert('s1', { uid: 'u1', accountId: 'sandbox-user' }, 3600);
    await first.adapterFor('Grant').upsert('g1', { accountId: 'sandbox-user' }, 3600);
    await first.adapterFor('RefreshToken').upsert('r1', { grantId: 'g1' }, 3600);
    await first.adapterFor('RefreshToken').upsert('r2', { grantId: 'g2' }, 10);
    await first.adapterFor('AuthorizationCode').upsert('a1', { grantId: 'g1' }, 60);
    await first.adapterFor('Interaction').upsert('i1', {}, 60);

    now += 60_000; // r2 has expired
    const again = createMemoryStore(() => now, file);
    expect(await again.adapterFor('Client').find('c1')).toEqual({ client_id: 'c1' });
    expect(await again.adapterFor('Session').findByUid('u1')).toMatchObject({ accountId: 'sandbox-user' });
    expect(await again.adapterFor('RefreshToken').find('r1')).toEqual({ grantId: 'g1' });
    expect(await again.adapterFor('RefreshToken').find('r2')).toBeUndefined();
    expect(await again.adapterFor('AuthorizationCode').find('a1')).toBeUndefined();
    expect(await again.adapterFor('Interaction').find('i1')).toBeUndefined();
    expect(readFileSync(file.path, 'utf8')).not.toContain('a1');

    // Revoking a grant, and a destroyed client, are gone after the next restart too.
    await again.adapterFor('RefreshToken').revokeByGrantId('g1');
    await again.adapterFor('Client').destroy('c1');
    const third = createMemoryStore(() => now, file);
    expect(await third.adapterFor('RefreshToken').find('r1')).toBeUndefined();
    expect(await third.adapterFor('Client').find('c1')).toBeUndefined();
  });

  it('refuses a file it did not write, naming it and what to do, and leaves it as it is', () => {
    for (const text of ['not json', '{"entries": [{"key": "AccessToken:x", "payload": {}, "expiresAt": null}]}', '[]']) {
      const file = stateFile(newDir(), 'issuer-1.json');
      file.write(null);
      writeFileSync(file.path, text);
      expect(() => createMemoryStore(Date.now, file)).toThrow(SandboxStateError);
      expect(() => createMemoryStore(Date.now, file)).toThrow(`the sandbox issuer's state in ${file.path} `);
      expect(() => createMemoryStore(Date.now, file)).toThrow(/delete the file to start afresh/);
      expect(readFileSync(file.path, 'utf8')).toBe(text);
    }
  });
});

describe('the sandbox issuer with a state folder', () => {
  it('signs with the same key after a restart, so tokens from before still verify', async () => {
    const dir = newDir();
    const before = await startSandboxIssuer({ stateDir: dir });
    const token = await before.mint({ audience: 'http://127.0.0.1:8080/mcp', scopes: ['jobs:read'] });
    const { port } = before.server;
    await before.close();

    const after = await startSandboxIssuer({ stateDir: dir, port });
    try {
      expect(after.issuer).toBe(before.issuer);
      const jwks = (await (await fetch(after.jwksUri)).json()) as JSONWebKeySet;
      expect(jwks.keys.map((k) => k.kid)).toEqual([decodeProtectedHeader(token).kid]);
      expect(jwks.keys[0]).not.toHaveProperty('d'); // the public half only
      await expect(jwtVerify(token, createLocalJWKSet(jwks), { issuer: after.issuer })).resolves.toBeDefined();

      // A rotated key is the one kept.
      await after.rotate();
      const rotated = decodeProtectedHeader(await after.mint({ audience: 'x', scopes: [] })).kid;
      expect(rotated).not.toBe(decodeProtectedHeader(token).kid);
      const third = await startSandboxIssuer({ stateDir: dir });
      await third.close();
      expect(decodeProtectedHeader(await third.mint({ audience: 'x', scopes: [] })).kid).toBe(rotated);
    } finally {
      await after.close();
    }
  });

  it('keeps its key apart when there is no state folder: each start has a new one', async () => {
    const a = await startSandboxIssuer();
    const b = await startSandboxIssuer();
    try {
      const kid = async (i: typeof a) => decodeProtectedHeader(await i.mint({ audience: 'x', scopes: [] })).kid;
      expect(await kid(a)).not.toBe(await kid(b));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses to start when its state folder cannot be used, naming the file and what to do', async () => {
    const blocked = join(mkdtempSync(join(tmpdir(), 'sandbox-state-')), 'a-file');
    writeFileSync(blocked, ''); // a file where the folder would be
    await expect(startSandboxIssuer({ stateDir: blocked })).rejects.toThrow(
      new SandboxStateError(
        `cannot use the sandbox issuer's state file ${join(blocked, 'issuer-key.json')} (ENOTDIR); set XDG_CACHE_HOME to a folder you can write`,
      ),
    );
  });

  it('refuses to start on a key file that holds no ES256 private key, naming the file', async () => {
    const dir = newDir();
    stateFile(dir, 'issuer-key.json').write({ kty: 'EC', crv: 'P-256', x: 'x' });
    await expect(startSandboxIssuer({ stateDir: dir })).rejects.toThrow(
      new SandboxStateError(
        `the sandbox issuer's state in ${join(dir, 'issuer-key.json')} is not an ES256 private key; delete the file to start afresh (MCP clients then sign in again)`,
      ),
    );
  });
});
