import { describe, expect, it } from 'vitest';
import { createRedactor, excerpt, secretsFromHeaders } from '../../../src/backends/http/redact.ts';

describe('redacting what a backend says before it is logged', () => {
  it('removes the exact credentials the client was configured with, whole header values and bare keys', () => {
    const redact = createRedactor(secretsFromHeaders({ authorization: 'Bearer AJKEY-SECRET-7777', 'x-client-type': 'mcp' }));
    expect(redact('invalid credential: Bearer AJKEY-SECRET-7777')).toBe('invalid credential: [redacted]');
    expect(redact('key AJKEY-SECRET-7777 unknown')).toBe('key [redacted] unknown');
    expect(redact('{"echo":{"headers":{"x-key":"AJKEY-SECRET-7777"}}}')).not.toContain('AJKEY');
    // A harmless configured header is not blanked out of the text.
    expect(redact('mcp client refused')).toBe('mcp client refused');
  });

  it('removes an x-api-key value, a Basic password and their URL-encoded forms', () => {
    const basic = Buffer.from('svc:pa ss/word!').toString('base64');
    const secrets = secretsFromHeaders({ 'X-Api-Key': 'k3y/with+plus', authorization: `Basic ${basic}` });
    const redact = createRedactor(secrets);
    expect(redact('got k3y/with+plus and k3y%2Fwith%2Bplus')).toBe('got [redacted] and [redacted]');
    expect(redact(`header Basic ${basic}`)).toBe('header [redacted]');
    expect(redact('login svc:pa ss/word! failed; password pa ss/word!')).not.toContain('pa ss/word!');
  });

  it('removes credential-looking strings it was not told about', () => {
    const redact = createRedactor();
    expect(redact('invalid credential: Bearer AJKEY-SECRET-7777')).toBe('invalid credential: [redacted]');
    expect(redact('auth failed for Bearer abc.def-123')).toBe('auth failed for Bearer [redacted]');
    expect(redact('GET /x?api_key=abc123&limit=1')).toBe('GET /x?api_key=[redacted]&limit=1');
    expect(redact('db user=svc password=hunter2 host=db.internal')).toBe('db user=svc password=[redacted] host=db.internal');
    expect(redact('{"token": "t0k3n", "secret":"s3", "client_secret":"cs", "note":"ok"}')).toBe(
      '{"token": "[redacted]", "secret":"[redacted]", "client_secret":"[redacted]", "note":"ok"}',
    );
    expect(redact('X-Api-Key: abcdef0123 ; Authorization: Basic dXNlcjpwYXNz')).toBe('X-Api-Key: [redacted] ; Authorization: [redacted]');
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudC00MiJ9.c2lnbmF0dXJlLWJ5dGVz';
    expect(redact(`token rejected: ${jwt} (expired)`)).toBe('token rejected: [redacted] (expired)');
  });

  it('keeps prose and the parts of a traceback an operator needs', () => {
    const redact = createRedactor();
    expect(redact('Basic authentication failed')).toBe('Basic authentication failed');
    expect(redact('Traceback at db.internal:5432 user=svc')).toBe('Traceback at db.internal:5432 user=svc');
  });

  it('makes an excerpt one line of at most 500 characters, redacted before it is cut', () => {
    const redact = createRedactor(['AJKEY-SECRET-7777']);
    const long = `<html>\n<body>\r\n${'x'.repeat(490)} Bearer AJKEY-SECRET-7777 ${'y'.repeat(5000)}</body></html>`;
    const line = excerpt(long, redact);
    expect(line).not.toMatch(/[\r\n]/);
    expect(line.length).toBeLessThanOrEqual(500);
    expect(line).toMatch(/^<html> <body> x/);
    expect(line).not.toContain('AJKEY');
    expect(line.endsWith('…')).toBe(true);
    expect(excerpt('  short\ttext \n', redact)).toBe('short text');
  });
});
