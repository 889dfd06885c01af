// The zod fields a backend kind's config section is built from, shared with the rest of the config
// schema (src/config/schema.ts uses them for project references, URLs and the default deadline), so
// one field means one rule and one error message wherever it appears.
import * as z from 'zod';

/** A name used in results, logs and metric labels: a backend, a host, a project reference. */
export const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');

export const httpUrl = z.url({ protocol: /^https?$/, error: 'an absolute http:// or https:// URL' });

export const headers = z
  .record(z.string().regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name'), z.string())
  .describe('Extra headers sent to this backend on every call (e.g. a reverse proxy credential). Values may be secret references.');

export const timeoutMs = z.number().int().min(100).max(120_000).describe('Deadline for one backend call, in milliseconds.');

/**
 * A kind's config section: a strict object of `kind` (the kind's name), an optional `name`, the kind's
 * own fields and an optional `timeout_ms`, in that order (the order config/schema.json shows).
 */
export function kindConfig<K extends string, F extends z.ZodRawShape>(kind: K, fields: F) {
  return z.strictObject({ kind: z.literal(kind), name: name.optional(), ...fields, timeout_ms: timeoutMs.optional() });
}
