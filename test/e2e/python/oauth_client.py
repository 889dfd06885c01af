"""Signs in to an MCP endpoint with the official MCP Python SDK's own OAuth client
(mcp.client.auth.OAuthClientProvider, mcp==2.3.0), for test/e2e/python-oauth-client.test.ts (run
with the venv python from ensurePythonMcp()).

usage: oauth_client.py URL PROJECT STATUS_JOB_ID CANCEL_JOB_ID

Starts with no token. Calls get_job_status(STATUS_JOB_ID), which meets the gateway's 401 and makes
the SDK discover the authorization server, register, and authorize; then cancel_job(CANCEL_JOB_ID),
which meets the 403 step-up challenge and makes the SDK authorize again for more scope. This script
plays only the browser: its redirect handler follows the authorization URL with httpx2 (keeping
cookies, as a browser does) until the sandbox's automatic sign-in redirects to REDIRECT_URI, and its
callback handler hands the code, state and iss from there back to the SDK.

Prints one JSON object: each step's result or error, the authorization URLs the SDK sent the
browser to, the tokens it stored, its registration, and every HTTP exchange of the MCP client.
"""

import json
import sys
from urllib.parse import parse_qs, urljoin, urlparse

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

REDIRECT_URI = "http://127.0.0.1:33419/callback"


class MemoryStorage:
    """The SDK's TokenStorage, in memory, recording what it is given."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.saved_tokens: list[dict] = []

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.saved_tokens.append(
            {"access_token": tokens.access_token, "scope": tokens.scope, "has_refresh_token": tokens.refresh_token is not None}
        )

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Browser:
    """Follows an authorization URL, keeping cookies, up to the redirect back to the client."""

    def __init__(self) -> None:
        self.visited: list[str] = []
        self.pages: list[str] = []  # any page that was not a redirect (a form to fill would land here)
        self.callback: dict[str, str] | None = None
        self.http = httpx2.AsyncClient(follow_redirects=False, timeout=httpx2.Timeout(10.0))

    async def open(self, url: str) -> None:
        self.visited.append(url)
        self.callback = None
        for _ in range(20):
            if url.startswith(REDIRECT_URI):
                self.callback = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
                return
            response = await self.http.get(url)
            location = response.headers.get("location")
            if response.is_redirect and location:
                url = urljoin(url, location)
                continue
            self.pages.append(f"{response.status_code} {url}")
            raise RuntimeError(f"the authorization stopped at {url} ({response.status_code}): {response.text[:300]}")
        raise RuntimeError("no redirect back to the client within 20 steps")

    async def result(self) -> AuthorizationCodeResult:
        if self.callback is None or "code" not in self.callback:
            raise RuntimeError(f"no authorization code came back: {self.callback}")
        return AuthorizationCodeResult(code=self.callback["code"], state=self.callback.get("state"), iss=self.callback.get("iss"))


def error_of(e: BaseException) -> dict:
    # anyio task groups wrap what failed inside them: unwrap a lone one.
    while len(getattr(e, "exceptions", ())) == 1:
        e = e.exceptions[0]
    return {"type": type(e).__name__, "message": str(e)}


async def main(url: str, project: str, status_id: str, cancel_id: str) -> dict:
    storage = MemoryStorage()
    browser = Browser()
    exchanges: list[dict] = []
    report: dict = {"steps": {}, "http": exchanges, "authorization_urls": browser.visited, "pages": browser.pages, "tokens": storage.saved_tokens}

    async def on_response(response: httpx2.Response) -> None:
        exchanges.append({"method": response.request.method, "url": str(response.request.url), "status": response.status_code})

    oauth = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="python-sdk-oauth-e2e",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.result,
    )

    async def step(name: str, fn) -> None:
        try:
            report["steps"][name] = {"ok": True, "result": await fn()}
        except Exception as e:  # reported, not raised: the test asserts on each step
            report["steps"][name] = {"ok": False, "error": error_of(e)}

    http = httpx2.AsyncClient(auth=oauth, timeout=httpx2.Timeout(30.0), event_hooks={"response": [on_response]})
    try:
        with anyio.fail_after(90):
            async with browser.http, http, Client(
                streamable_http_client(url, http_client=http),
                mode="2026-07-28",
                client_info=types.Implementation(name="python-sdk-oauth-e2e", version="1.0.0"),
                read_timeout_seconds=30,
            ) as client:

                async def status() -> dict:
                    r = await client.call_tool("get_job_status", {"project_reference": project, "job_id": status_id})
                    return {"structuredContent": r.structured_content, "isError": r.is_error}

                async def cancel() -> dict:
                    args = {"project_reference": project, "job_id": cancel_id, "reason": "python sdk oauth e2e"}
                    r = await client.call_tool("cancel_job", args)
                    return {"structuredContent": r.structured_content, "isError": r.is_error}

                await step("get_job_status", status)
                await step("cancel_job", cancel)
    except Exception as e:  # connecting failed, or the whole run timed out
        report["connect_error"] = error_of(e)
    if storage.client_info is not None:
        report["client_id"] = storage.client_info.client_id
    return report


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    print(json.dumps(anyio.run(main, *sys.argv[1:])))
