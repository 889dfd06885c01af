// Checks a tool result against the outputSchema the gateway publishes for that tool, with the JSON
// Schema validator the server itself uses, so a result that drifts from its schema fails the test
// that received it rather than only the clients that validate.
import { appendFileSync } from 'node:fs';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import { JOB_TOOLS, type ToolName } from '../../src/mcp/tools/job-tools.ts';

type Check = (input: unknown) => { valid: boolean; errorMessage?: string | undefined };
interface Compiled {
  whole: Check;
  /** The outputSchema's branches (result, tool error), each alone, for a message about the one the result meant. */
  branches: { schema: Record<string, unknown>; check: Check }[];
}

const validator = new AjvJsonSchemaValidator();
const compiled = new Map<string, Compiled>();
let validated = 0;

/** Whether the gateway serves a tool of this name (other names, such as conformance fixtures, are not checked). */
export function isJobToolName(name: string): name is ToolName {
  return JOB_TOOLS.some((t) => t.name === name);
}

function compiledFor(toolName: string): Compiled {
  let c = compiled.get(toolName);
  if (c) return c;
  const tool = JOB_TOOLS.find((t) => t.name === toolName);
  if (!tool) throw new Error(`result schema check: the gateway serves no tool "${toolName}"`);
  // The output schema does not depend on the gateway's limits.
  const schema = tool.define({ maxWaitSeconds: 60, maxTaskWaitSeconds: 86_400 }).outputSchema as Record<string, unknown> & {
    anyOf?: Record<string, unknown>[];
  };
  c = {
    whole: validator.getValidator(schema),
    branches: (schema.anyOf ?? []).map((branch) => ({ schema: branch, check: validator.getValidator(branch) })),
  };
  compiled.set(toolName, c);
  return c;
}

/**
 * Throws unless `result.structuredContent` matches the outputSchema `toolName` publishes (tool
 * errors included: the schema's anyOf admits their shape). The error names the tool, each failing
 * path and the value found there. Returns the result (present, since it has structuredContent),
 * so a call can be wrapped in place.
 */
export function expectMatchesOutputSchema<R>(toolName: string, result: R): NonNullable<R> {
  const c = compiledFor(toolName);
  const body = (result as { structuredContent?: unknown } | undefined)?.structuredContent;
  if (body === undefined) {
    throw new Error(`${toolName}: the result has no structuredContent for its outputSchema: ${excerpt(result)}`);
  }
  validated++;
  if (c.whole(body).valid) return result as NonNullable<R>;
  const isError = (result as { isError?: unknown }).isError === true;
  throw new Error(`${toolName}: the result does not match its outputSchema\n${explain(c, body, isError)}`);
}

/** How many results this module has checked (in this test file's worker). */
export function validatedResults(): number {
  return validated;
}

/** With CHECKED_RESULTS_FILE set, adds this test file's count to that file, one number a line, for a run's total. */
export function recordValidatedCount(testFile: string, count: number): void {
  const file = process.env.CHECKED_RESULTS_FILE;
  if (file) appendFileSync(file, `${count}\t${testFile}\n`);
}

// The errors of the branch the result meant (the tool-error shape when isError is set, else the
// result's), not of both: the anyOf's own errors list every branch's.
function explain(c: Compiled, body: unknown, isError: boolean): string {
  const branch = c.branches[isError ? 1 : 0] ?? c.branches[0];
  const message = branch ? branch.check(body).errorMessage : c.whole(body).errorMessage;
  if (!message) return `  ${excerpt(body)}`;
  // errorsText joins "data<instancePath> <message>" entries with ", ".
  return message
    .split(/, (?=data[/ ])/)
    .map((entry) => {
      const m = /^data(\S*) (.*)$/.exec(entry);
      if (!m) return `  ${entry}`;
      const path = m[1] || '/';
      const value = at(body, m[1]!);
      const extra = branch && /additional properties/.test(m[2]!) ? extraKeys(branch.schema, m[1]!, value) : [];
      const named = extra.length ? ` (${extra.map((k) => `${k}: ${excerpt((value as Record<string, unknown>)[k])}`).join(', ')})` : '';
      return `  at ${path}: ${m[2]}${named}; value: ${excerpt(value)}`;
    })
    .join('\n');
}

function segments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function at(value: unknown, pointer: string): unknown {
  let v = value;
  for (const s of segments(pointer)) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[s] : undefined;
  return v;
}

// The keys of `value` that the object schema at `pointer` does not name (the schemas nest plain
// properties and items, so a walk along the pointer finds it).
function extraKeys(schema: Record<string, unknown>, pointer: string, value: unknown): string[] {
  let node: Record<string, unknown> | undefined = schema;
  for (const s of segments(pointer)) {
    const props = node?.properties as Record<string, Record<string, unknown>> | undefined;
    node = props?.[s] ?? (node?.items as Record<string, unknown> | undefined);
  }
  const named = Object.keys((node?.properties as object | undefined) ?? {});
  return typeof value === 'object' && value !== null ? Object.keys(value).filter((k) => !named.includes(k)) : [];
}

function excerpt(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}
