"""Pages through list_jobs with the official MCP Python SDK (mcp==2.3.0), for
test/e2e/python-list.test.ts (run with the venv python from ensurePythonMcp()).

usage: list_client.py URL TOKEN MODE LIMIT PROJECT [PROJECT ...] [--status JSON ...]
  MODE modern: pinned to protocol revision 2026-07-28 (per-request `_meta` envelope, no initialize).
  MODE legacy: pinned to the initialize handshake (the SDK offers 2025-11-25).
  --status JSON: a status argument as list_jobs takes it, e.g. '"failed"' or '["queued","running"]';
                 may be given several times.

For each PROJECT, lists its jobs LIMIT at a time following next_cursor until it is null: once
without a status filter and once per --status. Prints one JSON object: the negotiated version, the
JSON-RPC methods sent, and every listing with every page (or the error that ended it).
"""

import argparse
import json

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from common import CLIENT_MODE, error_of

# A listing that never ends is a bug to report, not a reason to hang.
MAX_PAGES = 100


async def walk(client: Client, project: str, limit: int, status) -> dict:
    listing: dict = {"project": project, "status": status, "pages": []}
    cursor = None
    try:
        while len(listing["pages"]) < MAX_PAGES:
            args: dict = {"project_reference": project, "limit": limit}
            if status is not None:
                args["status"] = status
            if cursor is not None:
                args["cursor"] = cursor
            r = await client.call_tool("list_jobs", args)
            if r.is_error:
                listing["error"] = {"type": "ToolError", "structuredContent": r.structured_content}
                return listing
            listing["pages"].append(r.structured_content)
            cursor = r.structured_content.get("next_cursor")
            if cursor is None:
                return listing
        listing["error"] = {"type": "Unending", "message": f"next_cursor still set after {MAX_PAGES} pages"}
    except Exception as e:  # reported, not raised: the test asserts on each listing
        listing["error"] = error_of(e)
    return listing


async def main(url: str, token: str, mode: str, limit: int, projects: list[str], statuses: list) -> dict:
    methods: list[str] = []
    report: dict = {"mode": mode, "protocol_version": None, "rpc_methods": methods, "listings": []}

    async def on_request(request: httpx2.Request) -> None:
        try:
            body = json.loads(request.content) if request.method == "POST" else None
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("method") not in (None, *methods):
            methods.append(body["method"])

    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx2.Timeout(30.0),
        event_hooks={"request": [on_request]},
    )
    try:
        with anyio.fail_after(90):
            async with http, Client(
                streamable_http_client(url, http_client=http),
                mode=CLIENT_MODE[mode],
                client_info=types.Implementation(name="python-sdk-list-e2e", version="1.0.0"),
                read_timeout_seconds=30,
            ) as client:
                report["protocol_version"] = client.protocol_version
                # As an agent would; a 2026-07-28 client also learns the tools' schemas this way.
                report["tools"] = [t.name for t in (await client.list_tools()).tools]
                for project in projects:
                    for status in [None, *statuses]:
                        report["listings"].append(await walk(client, project, limit, status))
    except Exception as e:  # connecting failed, or the whole run timed out
        report["connect_error"] = error_of(e)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("mode", choices=sorted(CLIENT_MODE))
    parser.add_argument("limit", type=int)
    parser.add_argument("projects", nargs="+")
    parser.add_argument("--status", action="append", type=json.loads, default=[])
    a = parser.parse_args()
    print(json.dumps(anyio.run(main, a.url, a.token, a.mode, a.limit, a.projects, a.status)))
