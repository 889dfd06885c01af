// The sandbox's sign-in and consent: automatic. There is one user (the sandbox user), nothing to
// type and nothing to click: the browser a client opens comes straight back to the client with a
// code. oidc-provider asks for a login first (no session yet), then for consent to what the client
// asked (first sign-in, or a step-up to more scope); each is granted as it comes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';

interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** Answers GET /interaction/:uid, finishing the interaction at once as `accountId`. */
export function automaticSignIn(provider: () => Provider, accountId: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const p = provider();
    let details;
    try {
      details = await p.interactionDetails(req, res);
    } catch {
      // No interaction cookie: the link was opened in another browser, or too late.
      res
        .writeHead(400, { 'content-type': 'text/plain; charset=utf-8' })
        .end('This sign-in has expired or was opened outside the browser that started it: start again from your MCP client.\n');
      return;
    }
    const { prompt, params, session } = details;
    if (prompt.name === 'login' || !session) {
      await p.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
      return;
    }
    const asked = prompt.details as ConsentDetails;
    const grant =
      (details.grantId ? await p.Grant.find(details.grantId) : undefined) ??
      new p.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
    if (asked.missingOIDCScope) grant.addOIDCScope(asked.missingOIDCScope.join(' '));
    if (asked.missingOIDCClaims) grant.addOIDCClaims(asked.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(asked.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await p.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  };
}
