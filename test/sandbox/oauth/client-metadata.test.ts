// Client ID metadata documents on loopback: which client_ids are fetched here, and what a document
// must (not) say to be taken as a client.
import { describe, expect, it } from 'vitest';
import { fetchClientMetadataDocument, isLoopbackClientId, withLoopbackClientMetadata } from '../../../src/sandbox/oauth/client-metadata.ts';
import { createMemoryStore } from '../../../src/sandbox/oauth/adapter.ts';

const ID = 'http://127.0.0.1:4000/oauth/client.json';

/** A fetch that answers every URL with one response, recording what it was asked. */
function answering(body: unknown, init: ResponseInit = { status: 200 }) {
  const asked: { url: string; init: RequestInit | undefined }[] = [];
  const fn = (async (url: string | URL | Request, i?: RequestInit) => {
    asked.push({ url: url instanceof Request ? url.url : String(url), init: i });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), init);
  }) as typeof fetch;
  return { fn, asked };
}

describe('isLoopbackClientId', () => {
  it('takes http and https URLs with a path on 127.0.0.1, localhost and [::1]', () => {
    for (const id of [ID, 'https://localhost/client', 'http://[::1]:8123/a/b?x=1']) expect(isLoopbackClientId(id), id).toBe(true);
  });

  it('leaves every other client_id to oidc-provider (plain ids, public https URLs) and refuses malformed ones', () => {
    for (const id of [
      'sandbox-client',
      'https://claude.ai/oauth/client.json',
      'http://example.com/c',
      'http://127.0.0.1/',
      'http://127.0.0.1:4000',
      'http://127.0.0.1/c#frag',
      'http://u:p@127.0.0.1/c',
      'http://127.0.0.1/a/../c',
      'http://127.0.0.1/a/%2e%2e/c',
      'ftp://127.0.0.1/c',
      'http://10.0.0.1/c',
    ]) {
      expect(isLoopbackClientId(id), id).toBe(false);
    }
  });
});

describe('fetchClientMetadataDocument', () => {
  it('fetches the document without following redirects and gives public clients token_endpoint_auth_method none', async () => {
    const { fn, asked } = answering({ client_id: ID, redirect_uris: ['http://127.0.0.1:9/cb'] });
    expect(await fetchClientMetadataDocument(ID, fn)).toEqual({
      client_id: ID,
      redirect_uris: ['http://127.0.0.1:9/cb'],
      token_endpoint_auth_method: 'none',
    });
    expect(asked).toHaveLength(1);
    expect(asked[0]!.url).toBe(ID);
    expect(asked[0]!.init?.redirect).toBe('manual');
  });

  it.each([
    ['a client_id other than its URL', { client_id: 'http://127.0.0.1:4000/other.json' }, /client_id does not match/],
    ['a client secret', { client_id: ID, client_secret: 's' }, /must not contain client_secret/],
    ['a shared-secret auth method', { client_id: ID, token_endpoint_auth_method: 'client_secret_basic' }, /shared-secret/],
    ['an array', [ID], /not a JSON object/],
    ['no JSON', 'hello', /not JSON/],
  ])('refuses a document with %s', async (_what, body, message) => {
    // oidc-provider's errors: the code as the message, the reason in error_description.
    await expect(fetchClientMetadataDocument(ID, answering(body).fn)).rejects.toMatchObject({
      error: 'invalid_client_metadata',
      error_description: expect.stringMatching(message),
    });
  });

  it('refuses a redirect, an error status, a document over 64 KiB and a server that is down, as invalid_client', async () => {
    await expect(
      fetchClientMetadataDocument(ID, answering('', { status: 302, headers: { location: 'http://elsewhere/' } }).fn),
    ).rejects.toMatchObject({ error: 'invalid_client', error_detail: expect.stringContaining('302') });
    await expect(fetchClientMetadataDocument(ID, answering('nope', { status: 404 }).fn)).rejects.toMatchObject({ error: 'invalid_client' });
    await expect(fetchClientMetadataDocument(ID, answering({ client_id: ID, padding: 'x'.repeat(70_000) }).fn)).rejects.toMatchObject({
      error: 'invalid_client',
      error_detail: expect.stringContaining('larger'),
    });
    await expect(fetchClientMetadataDocument('http://127.0.0.1:9/c.json')).rejects.toMatchObject({ error: 'invalid_client' });
  });
});

describe('withLoopbackClientMetadata', () => {
  it('finds registered clients first, fetches loopback documents, and leaves other ids unknown', async () => {
    const clients = createMemoryStore().adapterFor('Client');
    await clients.upsert('registered', { client_id: 'registered', redirect_uris: [] });
    const { fn, asked } = answering({ client_id: ID });
    const adapter = withLoopbackClientMetadata(clients, fn);
    expect(await adapter.find('registered')).toMatchObject({ client_id: 'registered' });
    expect(await adapter.find(ID)).toMatchObject({ client_id: ID });
    expect(await adapter.find('https://claude.ai/oauth/client.json')).toBeUndefined();
    expect(asked.map((a) => a.url)).toEqual([ID]);
    // A fetched document is never stored as a registration.
    expect(await clients.find(ID)).toBeUndefined();
  });
});
