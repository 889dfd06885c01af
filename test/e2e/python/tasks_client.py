"""Drives the gateway's MCP Tasks extension (io.modelcontextprotocol/tasks, SEP-2663) through FastMCP's
client (fastmcp[tasks]==4.1.4: fastmcp-tasks 4.1.4 over mcp 2.3.0), for test/e2e/python-tasks.test.ts (run
with the venv python from ensurePythonFastmcpTasks()).

usage: tasks_client.py URL SCENARIO CONFIG_JSON
  CONFIG_JSON: {"token", "tool", "arguments", "other_token"?}

Every client is pinned to protocol 2026-07-28 (no initialize; the per-request `_meta` envelope) and
authenticates with a bearer token. Importing `fastmcp_tasks` is what makes a FastMCP `Client` declare
the extension on each request (in `_meta["io.modelcontextprotocol/clientCapabilities"].extensions`) and
claim a `resultType: "task"` answer; the `plain` scenario never imports it.

Scenarios (one per run):
  poll         `client.call_tool(tool, arguments)`: a task is polled with tasks/get to its end, unseen by
               the caller (fastmcp-tasks' transparent resolver).
  handle       `call_tool_task(client, tool, arguments)` → a `ToolTask`; prints a step line, waits for a
               line on stdin (the test moves the sandbox clock meanwhile), then `task.wait()` and
               `task.result()`.
  task_cancel  `call_tool_task` then `task.cancel()` (tasks/cancel): the task ends `cancelled`; then a
               plain get_job_status of the same job shows what the backend says.
  other_caller the task is made with `token`; a second client with `other_token` asks tasks/get and
               tasks/cancel for it (`ToolTask(other_client, …).status()` / `.cancel()`); the owner asks
               for an id that does not exist; then the owner sees its task still working, and cancels it.
  inline       `client.call_tool(...)` with tasks on, for a call the gateway answers at once.
  plain        `client.call_tool(...)` from a client that has not imported fastmcp_tasks.

Every JSON-RPC request the client sends over HTTP is recorded (method, the task id it names, whether its
`_meta` declares the tasks extension, and for tasks/* every HTTP header, the bearer token redacted).
A step line is a JSON object with "step"; the last line printed is the report, one JSON object.
"""

import json
import sys
import time
from typing import Any

import anyio
import httpx2
import mcp_types
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from common import MODERN, error_of

TASKS = "io.modelcontextprotocol/tasks"
CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
SCENARIOS = ("poll", "handle", "task_cancel", "other_caller", "inline", "plain")


class Recorder:
    """An httpx request hook: what each JSON-RPC request said on the wire, in order."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.requests: list[dict] = []

    async def __call__(self, request: httpx2.Request) -> None:
        try:
            body = json.loads(request.content)
        except Exception:  # a GET (the listening stream) or an unread body: not a JSON-RPC request
            return
        if not isinstance(body, dict) or "method" not in body:
            return
        params = body.get("params") or {}
        meta = params.get("_meta") or {}
        extensions = (meta.get(CLIENT_CAPABILITIES) or {}).get("extensions") or {}
        entry: dict[str, Any] = {"who": self.who, "method": body["method"], "declares_tasks": TASKS in extensions}
        if "taskId" in params:
            entry["task_id"] = params["taskId"]
        if body["method"].startswith("tasks/") or body["method"] == "tools/call":
            entry["headers"] = {
                k.lower(): ("Bearer <redacted>" if k.lower() == "authorization" else v) for k, v in request.headers.items()
            }
        self.requests.append(entry)


def client_for(url: str, token: str, recorder: Recorder) -> Client:
    """A FastMCP client on Streamable HTTP: bearer token, protocol 2026-07-28 pinned, requests recorded."""

    def http_client(headers=None, auth=None, timeout=None, **kwargs) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            headers=headers,
            auth=auth,
            timeout=timeout or httpx2.Timeout(30.0, read=60.0),
            event_hooks={"request": [recorder]},
            **kwargs,
        )

    transport = StreamableHttpTransport(url, auth=token, httpx_client_factory=http_client)
    return Client(
        transport,
        mode=MODERN,
        timeout=60,
        client_info=mcp_types.Implementation(name="fastmcp-tasks-e2e", version="1.0.0"),
    )


def result_of(r: Any) -> dict:
    """A FastMCP CallToolResult as the test reads it."""
    return {"structuredContent": r.structured_content, "isError": r.is_error}


def task_of(t: Any) -> dict:
    """A task's wire fields (a create result or a tasks/get answer), by their wire names."""
    return t.model_dump(by_alias=True, mode="json", exclude_none=True)


async def expect_error(what: str, call) -> dict:
    """A call that should fail: its error, or a note that it did not."""
    try:
        out = await call()
    except Exception as e:  # reported, not raised: the test asserts on it
        return error_of(e)
    return {"type": "none", "message": f"{what} did not fail: {out!r}"}


async def step(name: str, report: dict, **fields: Any) -> None:
    """Tells the test where the client is, and waits for its go-ahead (a line on stdin)."""
    print(json.dumps({"step": name, **fields}), flush=True)
    report.setdefault("steps", []).append(name)
    line = await anyio.to_thread.run_sync(sys.stdin.readline)
    if not line:
        raise RuntimeError(f"stdin closed at step {name}")


async def run(url: str, scenario: str, config: dict, report: dict, recorder: Recorder) -> None:
    if scenario != "plain":
        import fastmcp_tasks  # registers the client extension: every Client made after this declares it

        report["fastmcp_tasks_version"] = fastmcp_tasks.__version__
        ToolTask, call_tool_task = fastmcp_tasks.ToolTask, fastmcp_tasks.call_tool_task

    tool, arguments = config["tool"], config["arguments"]
    async with client_for(url, config["token"], recorder) as client:
        report["protocol_version"] = client.protocol_version
        discover = await client.session.send_discover(MODERN)
        report["server_extensions"] = sorted(((discover.get("capabilities") or {}).get("extensions") or {}).keys())
        await client.list_tools()  # as an agent would; it also gives the client the tools' output schemas
        started = time.monotonic()

        if scenario in ("poll", "inline", "plain"):
            try:
                report["result"] = result_of(await client.call_tool(tool, arguments, raise_on_error=False))
            except Exception as e:  # reported, not raised
                report["error"] = error_of(e)

        elif scenario == "handle":
            task = await call_tool_task(client, tool, arguments, raise_on_error=False)
            report["task_id"] = task.task_id
            report["created"] = task_of(task.create_result)
            await step("created", report, task_id=task.task_id)
            report["final"] = task_of(await task.wait(timeout=60))
            report["result"] = result_of(await task.result())

        elif scenario == "task_cancel":
            task = await call_tool_task(client, tool, arguments, raise_on_error=False)
            report["task_id"] = task.task_id
            report["created"] = task_of(task.create_result)
            await task.cancel()  # tasks/cancel
            report["after_cancel"] = task_of(await task.status())
            report["final"] = task_of(await task.wait(timeout=30))
            report["result"] = result_of(await task.result())  # a cancelled task: an error result, not a raise
            job = {k: v for k, v in arguments.items() if k in ("project_reference", "job_id")}
            report["job_after"] = result_of(await client.call_tool("get_job_status", job, raise_on_error=False))

        elif scenario == "other_caller":
            task = await call_tool_task(client, tool, arguments, raise_on_error=False)
            report["task_id"] = task.task_id
            report["created"] = task_of(task.create_result)
            other_recorder = Recorder("other")
            async with client_for(url, config["other_token"], other_recorder) as other:
                # The handle, as another caller would hold it had the id leaked to it.
                stolen = ToolTask(other, tool, task.create_result)
                report["other_get"] = await expect_error("tasks/get by another caller", stolen.status)
                report["other_cancel"] = await expect_error("tasks/cancel by another caller", stolen.cancel)
            recorder.requests.extend(other_recorder.requests)
            unknown = ToolTask(client, tool, task.create_result.model_copy(update={"task_id": "no-such-task-" + task.task_id[-8:]}))
            report["unknown_get"] = await expect_error("tasks/get of an unknown id", unknown.status)
            report["owner_get"] = task_of(await task.status())
            await task.cancel()
            report["final"] = task_of(await task.wait(timeout=30))

        report["elapsed_seconds"] = time.monotonic() - started


async def main(url: str, scenario: str, config_json: str) -> dict:
    config = json.loads(config_json)
    recorder = Recorder("owner")
    report: dict = {"scenario": scenario, "protocol_version": None, "requests": recorder.requests}
    try:
        with anyio.fail_after(90):
            await run(url, scenario, config, report, recorder)
    except Exception as e:  # reported, not raised: the test asserts on it
        report["failure"] = error_of(e)
    report["fastmcp_tasks_imported"] = "fastmcp_tasks" in sys.modules
    return report


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[2] not in SCENARIOS:
        sys.exit(__doc__)
    print(json.dumps(anyio.run(main, *sys.argv[1:])), flush=True)
