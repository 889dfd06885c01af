"""Drives an MCP endpoint through the official MCP Python SDK (mcp==2.3.0), for
test/e2e/python-client.test.ts (run with the venv python from ensurePythonMcp()).

usage: mcp_client.py URL TOKEN MODE PROJECT STATUS_JOB_ID CANCEL_JOB_ID
  MODE modern: pinned to protocol revision 2026-07-28 (per-request `_meta` envelope, no
               initialize, no fallback), after a real `server/discover`.
  MODE legacy: pinned to the initialize handshake (the SDK offers 2025-11-25).

Lists the tools, calls get_job_status(STATUS_JOB_ID) and cancel_job(CANCEL_JOB_ID), and prints
one JSON object: the negotiated version, each step's result or error, and every HTTP exchange
seen by the httpx2 client. The SDK's errors do not carry the HTTP status (a 403 whose body is a
JSON-RPC error surfaces as a plain MCPError), so the exchanges are how a caller sees the 403.
"""

import json
import sys

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from common import CLIENT_MODE, MODERN, error_of


def tool_result(r: types.CallToolResult) -> dict:
    return {"structuredContent": r.structured_content, "isError": r.is_error}


async def main(url: str, token: str, mode: str, project: str, status_id: str, cancel_id: str) -> dict:
    exchanges: list[dict] = []
    report: dict = {"mode": mode, "protocol_version": None, "steps": {}, "http": exchanges}

    async def on_response(response: httpx2.Response) -> None:
        req = response.request
        try:
            body = json.loads(req.content) if req.method == "POST" else None
        except ValueError:
            body = None
        exchanges.append({
            "http_method": req.method,
            "rpc_method": body.get("method") if isinstance(body, dict) else None,
            "tool": ((body.get("params") or {}).get("name") if isinstance(body, dict) else None),
            "status": response.status_code,
            "www_authenticate": response.headers.get("www-authenticate"),
            "mcp_protocol_version": req.headers.get("mcp-protocol-version"),
        })

    async def step(name: str, fn) -> None:
        try:
            report["steps"][name] = {"ok": True, "result": await fn()}
        except Exception as e:  # reported, not raised: the test asserts on each step
            report["steps"][name] = {"ok": False, "error": error_of(e)}

    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx2.Timeout(30.0),
        event_hooks={"response": [on_response]},
    )
    try:
        with anyio.fail_after(90):
            async with http, Client(
                streamable_http_client(url, http_client=http),
                mode=CLIENT_MODE[mode],
                client_info=types.Implementation(name="python-sdk-e2e", version="1.0.0"),
                read_timeout_seconds=30,
            ) as client:
                if mode == "modern":
                    # The pin adopts a synthesized discover result without asking the server; ask it
                    # for real (the probe `mode="auto"` would send), and adopt its answer: adopt()
                    # raises when the server does not list 2026-07-28, so there is still no fallback.
                    async def discover() -> dict:
                        raw = await client.session.send_discover(MODERN)
                        client.session.adopt(types.DiscoverResult.model_validate(raw))
                        return raw

                    await step("discover", discover)
                report["protocol_version"] = client.protocol_version

                async def list_tools() -> list[str]:
                    return [t.name for t in (await client.list_tools()).tools]

                async def status() -> dict:
                    args = {"project_reference": project, "job_id": status_id}
                    return tool_result(await client.call_tool("get_job_status", args))

                async def cancel() -> dict:
                    args = {"project_reference": project, "job_id": cancel_id, "reason": "python sdk e2e"}
                    return tool_result(await client.call_tool("cancel_job", args))

                await step("list_tools", list_tools)
                await step("get_job_status", status)
                await step("cancel_job", cancel)
    except Exception as e:  # connecting (initialize) failed, or the whole run timed out
        report["connect_error"] = error_of(e)
    return report


if __name__ == "__main__":
    if len(sys.argv) != 7 or sys.argv[3] not in CLIENT_MODE:
        sys.exit(__doc__)
    print(json.dumps(anyio.run(main, *sys.argv[1:])))
