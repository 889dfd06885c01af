// Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document) for clients on this
// machine. oidc-provider resolves a client_id that is an https URL by itself (its
// clientIdMetadataDocument feature), but it refuses loopback addresses (an SSRF guard) and plain http.
// In the sandbox, a client whose metadata document is served on loopback (a client under
// development, a test) is as legitimate as any: its documents are fetched here, through the
// adapter's Client `find` (oidc-provider asks the adapter before its own resolution), with the
// same checks the draft asks for.
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const MAX_DOCUMENT_BYTES = 64 * 1024;
const FETCH_TIMEOUT_MS = 2500;
// Methods that need a shared secret, which a document anyone can read cannot carry.
const SHARED_SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);

/** Whether a client_id is a metadata document URL on this machine: http(s), loopback host, a path, no fragment or credentials. */
export function isLoopbackClientId(id: string): boolean {
  let url: URL;
  try {
    url = new URL(id);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    LOOPBACK_HOSTS.has(url.hostname) &&
    url.pathname !== '/' &&
    url.hash === '' &&
    !id.includes('#') &&
    url.username === '' &&
    url.password === '' &&
    // Dot segments, which URL parsing would quietly resolve, are refused as the draft asks.
    !/\/(\.|%2e){1,2}(?=\/|\?|$)/i.test(id)
  );
}

/** Fetches and checks a metadata document; the errors are oidc-provider's invalid_client, with the reason. */
export async function fetchClientMetadataDocument(id: string, fetchFn: typeof fetch = fetch): Promise<AdapterPayload> {
  let res: Response;
  try {
    res = await fetchFn(id, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (e) {
    throw new errors.InvalidClient('client_id metadata document fetch failed', (e as Error).message);
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new errors.InvalidClient('client_id metadata document fetch failed', `unexpected response status ${res.status}`);
  }
  const text = await readLimited(res);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new errors.InvalidClientMetadata('client_id metadata document is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new errors.InvalidClientMetadata('client_id metadata document is not a JSON object');
  const properties = doc as Record<string, unknown>;
  if (properties.client_id !== id)
    throw new errors.InvalidClientMetadata('client_id metadata document client_id does not match the URL it was fetched from');
  if ('client_secret' in properties || 'client_secret_expires_at' in properties) {
    throw new errors.InvalidClientMetadata('client_id metadata document must not contain client_secret or client_secret_expires_at');
  }
  const method = properties.token_endpoint_auth_method ?? 'none';
  if (typeof method !== 'string' || SHARED_SECRET_METHODS.has(method)) {
    throw new errors.InvalidClientMetadata('client_id metadata document must not use shared-secret token endpoint authentication methods');
  }
  return { ...properties, token_endpoint_auth_method: method } as AdapterPayload;
}

async function readLimited(res: Response): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    // Leaving the loop cancels the stream.
    if (size > MAX_DOCUMENT_BYTES)
      throw new errors.InvalidClient('client_id metadata document fetch failed', `larger than ${MAX_DOCUMENT_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The Client model's adapter: registered clients first, then loopback metadata documents (fetched on every use, never stored). */
export function withLoopbackClientMetadata(clients: Adapter, fetchFn: typeof fetch = fetch): Adapter {
  return {
    ...clients,
    async find(id) {
      const registered = await clients.find(id);
      if (registered) return registered;
      return isLoopbackClientId(id) ? fetchClientMetadataDocument(id, fetchFn) : undefined;
    },
  };
}
