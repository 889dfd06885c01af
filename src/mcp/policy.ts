// What a caller needs to use an MCP method or a tool, in the words the rest of the gateway reads:
// the scope its token must carry and whether a call costs it budget. The table of methods
// (methods.ts) and each tool's definition (tools/, or an extra tool) declare these; the scope check
// (auth/), the budget (dispatch.ts) and the tests read them from there, never from names in a body.

/** Scope names; the operator maps each to a real scope string (auth.scopes in the config). */
export const SCOPE_NAMES = ['read', 'cancel'] as const;
export type ScopeName = (typeof SCOPE_NAMES)[number];

/** What a tool declares beside its MCP definition. */
export interface ToolPolicy {
  /** The scope a call needs (every message needs read; an acting tool names the scope that lets it act). */
  readonly scope: ScopeName;
  /** Whether a call takes one call from the caller's budget (caller-rate-limit.ts). */
  readonly budget: boolean;
}
