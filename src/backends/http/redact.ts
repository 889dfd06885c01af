// Makes a backend's own words safe to log. A backend that echoes the request (or a proxy error page,
// or a stack trace) can carry the gateway's credentials; what it says goes to the log only, through
// this, and never to callers.

export type Redact = (text: string) => string;

const MARK = '[redacted]';
/** Shorter configured values are not replaced verbatim: a 3-letter key would garble every excerpt. */
const MIN_SECRET_LENGTH = 6;

// Header names whose values are credentials (the configured headers also carry harmless ones,
// e.g. `x-client-type: mcp`, which must not be blanked out of every excerpt).
const SECRET_HEADER = /auth|key|token|secret|cookie|session|password|credential/i;

// `name: value`, `name=value`, `"name": "value"`: a name that says "secret", then its value (quoted,
// a scheme and its token, or a bare run up to a separator). Brackets end a bare run, so an earlier
// `[redacted]` is never matched again. Bounded name parts keep the regex linear on long words.
const SECRET_NAME = String.raw`[A-Za-z0-9_.-]{0,32}(?:key|token|secret|password|passwd|pwd|credential|authorization|auth|cookie|session)[A-Za-z0-9_.-]{0,32}`;
const ASSIGNMENT = new RegExp(
  String.raw`(["']?\b${SECRET_NAME}["']?\s{0,8}[:=]\s{0,8})("(?:[^"\\]|\\.){0,4096}"|'[^']{0,4096}'|(?:Bearer|Basic)\s+[^\s"'&,;{}\[\]]+|[^\s"'&,;{}\[\]]+)`,
  'gi',
);
const SCHEME_TOKEN = /\b(Bearer|Basic)\s+([A-Za-z0-9._~+/=-]+)/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

/** The credential strings in configured request headers: full values, bare tokens, decoded Basic credentials. */
export function secretsFromHeaders(headers: Record<string, string>): string[] {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (!SECRET_HEADER.test(name)) continue;
    out.add(value);
    const scheme = /^(\S+)\s+(\S.*)$/.exec(value.trim());
    if (!scheme) continue;
    const token = scheme[2]!;
    out.add(token);
    if (scheme[1]!.toLowerCase() === 'basic') {
      const decoded = Buffer.from(token, 'base64').toString('utf8');
      out.add(decoded);
      const colon = decoded.indexOf(':');
      if (colon >= 0) out.add(decoded.slice(colon + 1));
    }
  }
  return [...out];
}

/**
 * A function that replaces credential-looking strings: first the exact secrets given (and their
 * URL-encoded forms), then `secret-name = value` assignments in text, JSON or query strings, then
 * `Bearer …` / `Basic …` tokens, then JWT-shaped strings.
 */
export function createRedactor(secrets: readonly string[] = []): Redact {
  const exact = [...new Set(secrets.flatMap((s) => [s, encodeURIComponent(s)]))]
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length); // longest first: a header value before the key inside it
  return (text) => {
    let out = text;
    for (const s of exact) if (out.includes(s)) out = out.split(s).join(MARK);
    out = out.replace(
      ASSIGNMENT,
      (_m, prefix: string, value: string) => prefix + (value.startsWith('"') ? `"${MARK}"` : value.startsWith("'") ? `'${MARK}'` : MARK),
    );
    out = out.replace(SCHEME_TOKEN, (m, scheme: string, token: string) => (looksLikeToken(token) ? `${scheme} ${MARK}` : m));
    return out.replace(JWT, MARK);
  };
}

/** "Bearer AJKEY-7777" is a token; "Basic authentication failed" is prose. */
function looksLikeToken(v: string): boolean {
  return v.length >= 8 && (/\d/.test(v) || /[._~+/=-]/.test(v) || (/[a-z]/.test(v) && /[A-Z]/.test(v)));
}

/** Bytes of a body looked at: enough for any excerpt, and redaction stays cheap on a 1 MB error page. */
const SCAN_CHARS = 4096;

/** One redacted line of at most `max` characters (control characters and runs of whitespace become one space). */
export function excerpt(text: string, redact: Redact, max = 500): string {
  const line = redact(text.slice(0, SCAN_CHARS))
    // eslint-disable-next-line no-control-regex -- control characters are what this removes
    .replace(/[\s\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
