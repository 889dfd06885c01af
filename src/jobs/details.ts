// A job's `name` and `details`: the backend's own documented fields for its kind, so a person or a
// model can tell jobs apart in a list. Each kind declares a closed set of fields (its details.ts in
// src/backends/<kind>/), each bounded in size by the helpers here; nothing else of a backend's answer
// is passed on.
import * as z from 'zod';

/** Longest string in `name` or `details`; longer ones are cut. */
export const MAX_DETAIL_CHARS = 200;
/** Most tags passed on. */
export const MAX_TAGS = 20;

/** The zod fields a kind's details schema is built from, with the bounds the helpers below keep. */
export const detailText = z.string().max(MAX_DETAIL_CHARS);
export const detailInt = z.number().int();
export const detailTags = z.array(detailText).max(MAX_TAGS);

/** A string field as passed on: non-empty strings (and numeric ids) cut to MAX_DETAIL_CHARS; anything else absent. */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v === '') return undefined;
  return v.length > MAX_DETAIL_CHARS ? v.slice(0, MAX_DETAIL_CHARS) : v;
}

/** A finite number, else absent. */
export function numberOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** An integer, else absent. */
export function intOf(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** A count (a non-negative integer), else absent: the schema holds no negative counts. */
export function countOf(v: unknown): number | undefined {
  const n = intOf(v);
  return n !== undefined && n >= 0 ? n : undefined;
}

/** A non-negative finite number (a duration), else absent. */
export function nonNegativeOf(v: unknown): number | undefined {
  const n = numberOf(v);
  return n !== undefined && n >= 0 ? n : undefined;
}

/** Tags as passed on: strings only, each cut, at most MAX_TAGS. */
export function tagsOf(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const tags = v
    .map(textOf)
    .filter((t): t is string => t !== undefined)
    .slice(0, MAX_TAGS);
  return tags.length ? tags : undefined;
}

/** An object without its undefined fields; undefined when nothing is left. */
export function compact<T extends Record<string, unknown>>(o: T): T | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length ? (out as T) : undefined;
}
