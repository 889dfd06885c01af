// Where the sandbox's authorization server keeps what it issues (sessions, grants, codes, tokens,
// registered clients): in memory, one store per server, so rebuilding the provider on a key rotation
// keeps every session and registration. Given a state file, the registrations, sessions, grants and
// refresh tokens are also written there on every change and read back at start, so MCP clients that
// kept their client id and refresh token go on after a restart of the sandbox; the rest (codes,
// interactions) is short-lived and starts afresh. oidc-provider's adapter contract:
// upsert/find/findByUid/findByUserCode/consume/destroy/revokeByGrantId, per model name.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { StateFile } from '../state.ts';

// Models whose entries belong to a grant, so revoking the grant removes them.
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
// Models kept in the state file: what a client holds on to across a restart (its client id, its
// refresh token) and what those stand on (the grant; the session, which a refresh token issued
// without offline_access expires with).
const PERSISTED = new Set(['Client', 'Grant', 'RefreshToken', 'Session']);

interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds; Infinity when it does not expire. */
  expiresAt: number;
}

/** The state file's content: entries by `Model:id`, expiresAt null for never. */
interface PersistedEntries {
  entries: { key: string; payload: AdapterPayload; expiresAt: number | null }[];
}

export interface MemoryStore {
  adapterFor(model: string): Adapter;
}

const modelOf = (key: string) => key.slice(0, key.indexOf(':'));

function readPersisted(file: StateFile): PersistedEntries['entries'] {
  const value = file.read();
  if (value === undefined) return [];
  const entries = (value as Partial<PersistedEntries> | null)?.entries;
  const valid =
    Array.isArray(entries) &&
    entries.every(
      (e: unknown) =>
        typeof e === 'object' &&
        e !== null &&
        typeof (e as { key?: unknown }).key === 'string' &&
        PERSISTED.has(modelOf((e as { key: string }).key)) &&
        typeof (e as { payload?: unknown }).payload === 'object' &&
        (e as { payload?: unknown }).payload !== null &&
        ((e as { expiresAt?: unknown }).expiresAt === null || typeof (e as { expiresAt?: unknown }).expiresAt === 'number'),
    );
  if (!valid) throw file.invalid('is not a list of registrations, sessions, grants and refresh tokens');
  return entries;
}

export function createMemoryStore(now: () => number = Date.now, file?: StateFile): MemoryStore {
  const entries = new Map<string, Entry>();
  const indexes = new Map<string, string>(); // sessionUid:… and userCode:… → entry key
  const grants = new Map<string, Set<string>>(); // grantId → entry keys
  let writes = 0;

  const put = (key: string, payload: AdapterPayload, expiresAt: number) => {
    entries.set(key, { payload, expiresAt });
    if (modelOf(key) === 'Session' && payload.uid) indexes.set(`sessionUid:${payload.uid}`, key);
    if (payload.userCode) indexes.set(`userCode:${payload.userCode}`, key);
    if (GRANTABLE.has(modelOf(key)) && payload.grantId) {
      const keys = grants.get(payload.grantId) ?? new Set<string>();
      keys.add(key);
      grants.set(payload.grantId, keys);
    }
  };
  // The whole persisted part, written after each change to it (a sandbox makes a few a minute).
  const save = (model: string) => {
    if (!file || !PERSISTED.has(model)) return;
    const t = now();
    const kept: PersistedEntries['entries'] = [];
    for (const [key, e] of entries) {
      if (PERSISTED.has(modelOf(key)) && e.expiresAt > t)
        kept.push({ key, payload: e.payload, expiresAt: e.expiresAt === Infinity ? null : e.expiresAt });
    }
    file.write({ entries: kept } satisfies PersistedEntries);
  };
  if (file) {
    const t = now();
    for (const e of readPersisted(file)) if (e.expiresAt === null || e.expiresAt > t) put(e.key, e.payload, e.expiresAt ?? Infinity);
  }

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
          put(keyOf(id), payload, typeof expiresIn === 'number' ? now() + expiresIn * 1000 : Infinity);
          if (++writes % 1000 === 0) sweep();
          save(model);
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
          save(model);
        },
        async destroy(id) {
          entries.delete(keyOf(id));
          save(model);
        },
        async revokeByGrantId(grantId) {
          const keys = grants.get(grantId) ?? new Set<string>();
          for (const key of keys) entries.delete(key);
          grants.delete(grantId);
          if ([...keys].some((k) => PERSISTED.has(modelOf(k)))) save('RefreshToken');
        },
      };
    },
  };
}
