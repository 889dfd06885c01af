// What a caller needs to use an MCP method or a tool, in the words the rest of the gateway reads:
// the scope its token must carry and what a call costs of its budget. The table of methods
// (methods.ts) and each tool's definition (tools/, or an extra tool) declare these; the scope check
// (auth/), the budget (dispatch.ts) and the tests read them from there, never from names in a body.

/** Scope names; the operator maps each to a real scope string (auth.scopes in the config). */
export const SCOPE_NAMES = ['read', 'cancel'] as const;
export type ScopeName = (typeof SCOPE_NAMES)[number];

/**
 * What one message costs of its caller's budget (caller-rate-limit.ts), in points. Every message an
 * authenticated caller sends costs at least one: the type has no 0 and no `false`, so no method of
 * the table (methods.ts) and no tool can be declared free. A heavier message may cost more.
 */
export type BudgetPoints = 1 | 2 | 3 | 4 | 5;

/** What a message the table of methods lacks costs (the endpoint refuses it, after charging it). */
export const UNLISTED_POINTS: BudgetPoints = 1;

/** What a tool declares beside its MCP definition. */
export interface ToolPolicy {
  /** The scope a call needs (every message needs read; an acting tool names the scope that lets it act). */
  readonly scope: ScopeName;
  /** What a call costs of the caller's budget (caller-rate-limit.ts); never nothing. */
  readonly budget: BudgetPoints;
}
