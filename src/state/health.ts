// Whether the state store answers, as this replica last saw it. Each change is one log line (a
// warning when it goes, info when it is back) and a call of onChange (the metric); nothing repeats
// while the state holds, however many calls fail meanwhile.
import type { Logger } from 'pino';

export interface StoreHealth {
  readonly up: boolean;
  markUp(): void;
  markDown(reason: string): void;
  /** `listener` runs each time the store starts answering (after start-up or an outage). */
  onUp(listener: () => void): void;
}

export interface StoreHealthOptions {
  logger: Logger;
  /** Fields every line carries: which store (never a password). */
  fields: Record<string, unknown>;
  onChange?: ((up: boolean) => void) | undefined;
}

export function createStoreHealth(options: StoreHealthOptions): StoreHealth {
  const { logger, fields } = options;
  let state: 'starting' | 'up' | 'down' = 'starting';
  const listeners: (() => void)[] = [];
  return {
    get up() {
      return state === 'up';
    },
    markUp() {
      if (state === 'up') return;
      const was = state;
      state = 'up';
      options.onChange?.(true);
      logger.info(
        { event: 'state_store_up', ...fields },
        was === 'starting' ? 'state store connected: what the gateway learns is shared' : 'state store answers again: sharing resumes',
      );
      for (const l of listeners) l();
    },
    markDown(reason) {
      if (state === 'down') return;
      const was = state;
      state = 'down';
      options.onChange?.(false);
      const what = { event: 'state_store_down', ...fields, reason };
      // Start-up without the store is allowed, but an operator must not miss it.
      if (was === 'starting')
        logger.error(
          what,
          'state store unreachable at start-up: this replica answers from its own memory, shared nothing, until the store answers',
        );
      else logger.warn(what, 'state store down: this replica answers from its own memory until the store answers again');
    },
    onUp(listener) {
      listeners.push(listener);
    },
  };
}
