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

/**
 * Resolves once `requests` (a simulation's log, which grows) holds one matching `match`, or once
 * `client` (a client process's run) has ended: its report then says why it never sent it. The bound
 * only turns a hang into a failure that names the simulation.
 */
export async function seenOrEnded<R>(
  what: string,
  requests: readonly R[],
  match: (r: R) => boolean,
  client: Promise<unknown>,
  boundMs = 60_000,
): Promise<void> {
  let ended = false;
  void client.finally(() => (ended = true)).catch(() => {});
  const deadline = Date.now() + boundMs;
  while (!requests.some(match)) {
    if (ended) return;
    if (Date.now() > deadline) throw new Error(`the ${what} simulation saw no matching request within ${boundMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
