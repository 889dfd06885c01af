// The caller's budget as a backend call sees it: a call costs its caller one call of the budget (the
// MCP layer takes it), but on a backend that asks several servers for one call (a ComfyUI project's
// hosts) the servers asked beyond the first are charged too, so one caller cannot multiply its load
// on the backends by the number of hosts. The MCP layer puts a charge in the call's context; an
// adapter calls it before it fans out, and a refusal is the caller's RATE_LIMITED, not a backend's.
import { BackendError } from './backend-error.ts';

/** Takes points from the calling caller's budget: 0 when granted, else the whole seconds to wait. */
export type BudgetCharge = (points: number) => number | Promise<number>;

/**
 * The caller's budget cannot pay for a fan-out: RATE_LIMITED with the seconds to wait. No backend
 * failed, so the log of backend failures leaves it out.
 */
export class CallerBudgetSpent extends BackendError {
  constructor(message: string, retryAfterSeconds: number) {
    super('RATE_LIMITED', message, { retryAfterSeconds });
    this.name = 'CallerBudgetSpent';
  }
}

/**
 * Charges `extra` backend requests (beyond the one a call pays for) to the caller, before they are
 * sent; throws CallerBudgetSpent when the budget cannot pay, so nothing is sent. Without a charge
 * (no budget configured, a wait's shared poller, a direct test) the requests are free.
 */
export async function chargeFanOut(charge: BudgetCharge | undefined, extra: number, what: string): Promise<void> {
  if (charge === undefined || extra <= 0) return;
  const pending = charge(extra);
  const wait = typeof pending === 'number' ? pending : await pending;
  if (wait > 0)
    throw new CallerBudgetSpent(
      `${what} takes ${extra} more backend request(s) than one call pays for, and your budget cannot pay for them now; retry in ${wait} s`,
      wait,
    );
}
