// Where the sandbox's authorization server keeps what it issues (sessions, grants, codes, tokens,
// registered clients): in memory, one store per server, so rebuilding the provider on a key rotation
// keeps every session and registration. oidc-provider's adapter contract: upsert/find/findByUid/
// findByUserCode/consume/destroy/revokeByGrantId, per model name.
import type { Adapter, AdapterPayload } from 'oidc-provider';

// Models whose entries belong to a grant, so revoking the grant removes them.
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds; Infinity when it does not expire. */
  expiresAt: number;
}

export interface MemoryStore {
  adapterFor(model: string): Adapter;
}

export function createMemoryStore(now: () => number = Date.now): MemoryStore {
  const entries = new Map<string, Entry>();
  const indexes = new Map<string, string>(); // sessionUid:… and userCode:… → entry key
  const grants = new Map<string, Set<string>>(); // grantId → entry keys
  let writes = 0;

  const live = (key: string): AdapterPayload | undefined => {
    const e = entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return e.payload;
  };
  // The store lives as long as the sandbox: drop what expired now and then.
  const sweep = () => {
    const t = now();
    for (const [key, e] of entries) if (e.expiresAt <= t) entries.delete(key);
    for (const [key, target] of indexes) if (!entries.has(target)) indexes.delete(key);
    for (const [id, keys] of grants) {
      for (const k of keys) if (!entries.has(k)) keys.delete(k);
      if (keys.size === 0) grants.delete(id);
    }
  };

  return {
    adapterFor(model) {
      const keyOf = (id: string) => `${model}:${id}`;
      return {
        async upsert(id, payload, expiresIn) {
          const key = keyOf(id);
          entries.set(key, { payload, expiresAt: typeof expiresIn === 'number' ? now() + expiresIn * 1000 : Infinity });
          if (model === 'Session' && payload.uid) indexes.set(`sessionUid:${payload.uid}`, key);
          if (payload.userCode) indexes.set(`userCode:${payload.userCode}`, key);
          if (GRANTABLE.has(model) && payload.grantId) {
            const keys = grants.get(payload.grantId) ?? new Set<string>();
            keys.add(key);
            grants.set(payload.grantId, keys);
          }
          if (++writes % 1000 === 0) sweep();
        },
        async find(id) {
          return live(keyOf(id));
        },
        async findByUid(uid) {
          const key = indexes.get(`sessionUid:${uid}`);
          return key ? live(key) : undefined;
        },
        async findByUserCode(userCode) {
          const key = indexes.get(`userCode:${userCode}`);
          return key ? live(key) : undefined;
        },
        async consume(id) {
          const payload = live(keyOf(id));
          if (payload) payload.consumed = Math.floor(now() / 1000);
        },
        async destroy(id) {
          entries.delete(keyOf(id));
        },
        async revokeByGrantId(grantId) {
          for (const key of grants.get(grantId) ?? []) entries.delete(key);
          grants.delete(grantId);
        },
      };
    },
  };
}
