// Waiting in a test for an event it can see but is not told of, without guessing a duration.

/**
 * Resolves once `condition` holds. It checks every 10 ms; the bound only turns a test that would
 * hang into a failure that names what never came.
 */
export async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`still waiting for ${what}`);
}
