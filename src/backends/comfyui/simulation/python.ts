// How ComfyUI's aiohttp handlers answer and treat JSON, in Python's terms: its stock responses,
// request.json() raising on a bad body (a 500), Python's iteration, int() and str().
import type { SimRequest, SimResponse } from '../../../simulation/sim-server.ts';

const JSON_TYPE = 'application/json; charset=utf-8';
export const json = (status: number, body: unknown): SimResponse => ({ status, json: body, headers: { 'content-type': JSON_TYPE } });
export const empty200: SimResponse = { status: 200, text: '', headers: { 'content-type': 'application/octet-stream' } };
export const notFound: SimResponse = { status: 404, text: '404: Not Found', headers: { 'content-type': 'text/plain; charset=utf-8' } };
export const serverError: SimResponse = {
  status: 500,
  text: '500 Internal Server Error\n\nServer got itself in trouble',
  headers: { 'content-type': 'text/plain; charset=utf-8' },
};

export const INVALID = Symbol('invalid');

/** request.json(): an empty or malformed body raises (a 500 in aiohttp). */
export function parseBody(req: SimRequest): unknown {
  try {
    return JSON.parse(req.body);
  } catch {
    return INVALID;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isIterable(v: unknown): boolean {
  return Array.isArray(v) || typeof v === 'string' || isObject(v);
}

export function iterate(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') return [...v];
  if (isObject(v)) return Object.keys(v);
  return [];
}

/** Python int() of a query string; undefined where it would raise. */
export function pyInt(s: string): number | undefined {
  return /^\s*[+-]?\d+\s*$/.test(s) ? Number(s) : undefined;
}

/** Python str() of a JSON value: a string as it is, anything else as its repr. */
export function pyStr(v: unknown): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/** Python repr() of a JSON value (close enough: floats print as JavaScript prints them). */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (isObject(v))
    return `{${Object.entries(v)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  return String(v as bigint);
}
