"""Calls the gateway's tools the way OpenAI's Agents SDK (openai-agents==0.24.0) does in strict mode,
for test/e2e/python-strict-agents.test.ts (run with the venv python from ensurePythonAgents()).

usage: strict_agents_client.py URL TOKEN PLAN_JSON
  PLAN_JSON: [{"tool": NAME, "arguments": {...}}, ...]: the arguments the model chose; every other
  property of the tool's strict schema is filled as a strict-mode model must fill it (the schema
  makes every property required): null where the schema allows null, else an empty or least value.

The SDK's own MCP client connects (MCPServerStreamableHttp), the SDK converts each tool's input
schema with convert_schemas_to_strict=True (MCPUtil.get_function_tools) and invokes the tool
through the FunctionTool it made (on_invoke_tool), as an agent run would. Prints one JSON object:
each tool's strict flag and schema, and for each planned call the arguments sent and what came back.
"""

import asyncio
import json
import sys

from agents import Agent
from agents.mcp import MCPServerStreamableHttp, MCPUtil
from agents.run_context import RunContextWrapper
from agents.tool_context import ToolContext


def blank(schema: dict):
    """What a strict-mode model sends for a property it has no value for."""
    branches = schema.get("anyOf") or [schema]
    kinds = [b.get("type") for b in branches]
    if "null" in kinds:
        return None
    if "array" in kinds:
        return []
    first = branches[0]
    if "enum" in first:
        return first["enum"][0]
    if first.get("type") == "string":
        return ""
    if first.get("type") in ("number", "integer"):
        return first.get("minimum", 0)
    return None


async def main(url: str, token: str, plan: list) -> dict:
    report: dict = {"tools": {}, "calls": []}
    server = MCPServerStreamableHttp(params={"url": url, "headers": {"Authorization": f"Bearer {token}"}}, name="gateway")
    async with server:
        agent = Agent(name="strict", mcp_servers=[server], mcp_config={"convert_schemas_to_strict": True})
        tools = await MCPUtil.get_function_tools(server, True, RunContextWrapper(None), agent)
        by_name = {t.name: t for t in tools}
        for t in tools:
            report["tools"][t.name] = {"strict": t.strict_json_schema, "schema": t.params_json_schema}
        for step in plan:
            tool = by_name[step["tool"]]
            props = tool.params_json_schema.get("properties", {})
            args = {key: step["arguments"][key] if key in step["arguments"] else blank(props[key]) for key in props}
            text = json.dumps(args)
            ctx = ToolContext(None, tool_name=tool.name, tool_call_id=f"call-{len(report['calls'])}", tool_arguments=text)
            out = await tool.on_invoke_tool(ctx, text)
            # What the model reads: the SDK hands a lone text block over as {"type": "text", "text": ...}.
            if isinstance(out, dict) and out.get("type") == "text":
                out = out["text"]
            report["calls"].append({"tool": tool.name, "arguments": args, "output": out if isinstance(out, str) else json.dumps(out)})
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))))
