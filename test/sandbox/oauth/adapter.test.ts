// The authorization server's in-memory store, by oidc-provider's adapter contract.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../src/sandbox/oauth/adapter.ts';

describe('createMemoryStore', () => {
  it('keeps entries per model until they expire', async () => {
    let now = 1_000_000;
    const store = createMemoryStore(() => now);
    const codes = store.adapterFor('AuthorizationCode');
    await codes.upsert('a', { jti: 'a' }, 60);
    await store.adapterFor('Session').upsert('a', { uid: 'u1' }); // same id, other model
    expect(await codes.find('a')).toEqual({ jti: 'a' });
    now += 59_000;
    expect(await codes.find('a')).toBeDefined();
    now += 1_000;
    expect(await codes.find('a')).toBeUndefined();
    expect(await store.adapterFor('Session').find('a')).toEqual({ uid: 'u1' });
  });

  it('finds sessions by uid, marks consumed codes, and destroys', async () => {
    const store = createMemoryStore(() => 5_000);
    const sessions = store.adapterFor('Session');
    await sessions.upsert('s1', { uid: 'uid-1', accountId: 'sandbox-user' });
    expect(await sessions.findByUid('uid-1')).toMatchObject({ accountId: 'sandbox-user' });
    const codes = store.adapterFor('AuthorizationCode');
    await codes.upsert('c', { jti: 'c' }, 60);
    await codes.consume('c');
    expect(await codes.find('c')).toEqual({ jti: 'c', consumed: 5 });
    await sessions.destroy('s1');
    expect(await sessions.find('s1')).toBeUndefined();
    expect(await sessions.findByUid('uid-1')).toBeUndefined();
  });

  it('revoking a grant removes its codes and tokens, and nothing of other grants', async () => {
    const store = createMemoryStore();
    await store.adapterFor('AccessToken').upsert('at1', { grantId: 'g1' }, 60);
    await store.adapterFor('RefreshToken').upsert('rt1', { grantId: 'g1' }, 60);
    await store.adapterFor('AccessToken').upsert('at2', { grantId: 'g2' }, 60);
    await store.adapterFor('AccessToken').revokeByGrantId('g1');
    expect(await store.adapterFor('AccessToken').find('at1')).toBeUndefined();
    expect(await store.adapterFor('RefreshToken').find('rt1')).toBeUndefined();
    expect(await store.adapterFor('AccessToken').find('at2')).toEqual({ grantId: 'g2' });
  });
});
