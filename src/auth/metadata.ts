// RFC 9728 protected-resource metadata and the WWW-Authenticate challenges that point to it. Every
// URL is built from the configured public URL, never from request headers (which a TLS-terminating
// proxy or an attacker controls).
import type { Request, Response } from 'express';

export interface ResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: ['header'];
  resource_name: string;
}

/** The path-form metadata URL for a resource, e.g. https://h/.well-known/oauth-protected-resource/mcp. */
export function metadataUrl(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return `${u.origin}/.well-known/oauth-protected-resource${path}`;
}

/** Both discovery locations: the root form and the path form of the MCP endpoint. */
export function metadataPaths(resource: string): string[] {
  return [...new Set(['/.well-known/oauth-protected-resource', new URL(metadataUrl(resource)).pathname])];
}

export function metadataHandler(metadata: ResourceMetadata) {
  const body = JSON.stringify(metadata);
  return (req: Request, res: Response) => {
    // Public information that browser-based clients must be able to read.
    res.set({ 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'public, max-age=3600' });
    if (req.method === 'OPTIONS') {
      res.set({ 'Access-Control-Allow-Methods': 'GET', 'Access-Control-Allow-Headers': 'mcp-protocol-version' }).status(204).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.set('Allow', 'GET, HEAD, OPTIONS').status(405).end();
      return;
    }
    res.type('application/json').send(body);
  };
}

/** `Bearer resource_metadata="…", scope="…"[, error="…", error_description="…"]` (RFC 6750 §3). */
export function challenge(options: {
  metadataUrl: string;
  scope: string;
  error?: 'invalid_token' | 'invalid_request' | 'insufficient_scope';
  description?: string;
}): string {
  const parts = [`resource_metadata="${options.metadataUrl}"`, `scope="${options.scope}"`];
  if (options.error) parts.push(`error="${options.error}"`);
  // Quoted-string content: no quotes, backslashes or control characters.
  // eslint-disable-next-line no-control-regex -- control characters are what this removes
  if (options.description) parts.push(`error_description="${options.description.replace(/["\\\x00-\x1f\x7f]/g, '')}"`);
  return `Bearer ${parts.join(', ')}`;
}
