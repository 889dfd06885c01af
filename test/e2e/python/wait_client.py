"""Makes one waiting tool call through the official MCP Python SDK (mcp==2.3.0), for
test/e2e/python-waits.test.ts (run with the venv python from ensurePythonMcp()).

usage: wait_client.py URL TOKEN MODE TOOL ARGUMENTS_JSON
  MODE modern: pinned to protocol revision 2026-07-28 (per-request `_meta` envelope, no initialize).
  MODE legacy: pinned to the initialize handshake (the SDK offers 2025-11-25).

Lists the tools (as an agent would, and so that a 2026-07-28 call carries its headers), then calls
TOOL with ARGUMENTS_JSON and a progress callback, so the gateway sends heartbeats while it waits.
Prints one JSON object: the negotiated version, the call's result or error, every progress
notification received, and how long the call took on the client's side.
"""

import json
import sys
import time

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from common import CLIENT_MODE, error_of


async def main(url: str, token: str, mode: str, tool: str, arguments: str) -> dict:
    progress: list[dict] = []
    report: dict = {"mode": mode, "protocol_version": None, "progress": progress}

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append({"progress": done, "total": total, "message": message})

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30.0))
    try:
        with anyio.fail_after(60):
            async with http, Client(
                streamable_http_client(url, http_client=http),
                mode=CLIENT_MODE[mode],
                client_info=types.Implementation(name="python-sdk-waits-e2e", version="1.0.0"),
                read_timeout_seconds=30,
            ) as client:
                report["protocol_version"] = client.protocol_version
                await client.list_tools()
                started = time.monotonic()
                try:
                    r = await client.call_tool(tool, json.loads(arguments), progress_callback=on_progress)
                    report["result"] = {"structuredContent": r.structured_content, "isError": r.is_error}
                except Exception as e:  # reported, not raised: the test asserts on it
                    report["error"] = error_of(e)
                report["elapsed_seconds"] = time.monotonic() - started
    except Exception as e:  # connecting failed, or the whole run timed out
        report["connect_error"] = error_of(e)
    return report


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[3] not in CLIENT_MODE:
        sys.exit(__doc__)
    print(json.dumps(anyio.run(main, *sys.argv[1:])))
