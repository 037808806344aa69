"""Drives Anima's workflow tools over MCP with the official MCP Python SDK.

Usage: mcp_workflow_client.py URL OWNER_TOKEN OTHER_USER_TOKEN NARROW_TOKEN
The daemon has workflows `greet` (output "hello ${inputs.who}") and `gated` (an approval
step `ok`) owned by OWNER_TOKEN's user. OTHER_USER_TOKEN belongs to another user;
NARROW_TOKEN has the mcp scope but not workflows.
Prints one line per check and exits non-zero at the first failure.
"""
import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from checks import check, text


async def session_for(url, token, body):
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                return await body(session)


async def owner(session):
    names = [tool.name for tool in (await session.list_tools()).tools]
    wanted = {"workflow_list", "workflow_run", "workflow_status", "workflow_cancel", "workflow_approve"}
    check("list tools has the workflow tools", wanted <= set(names), names)
    listed = json.loads(text(await session.call_tool("workflow_list", {})))
    check("workflow_list", sorted(w["name"] for w in listed) == ["gated", "greet"], listed)

    result = await session.call_tool("workflow_run", {"name": "greet", "inputs": {"who": "mcp"}, "wait": True})
    run = json.loads(text(result))
    check("workflow_run waits for the output", not result.is_error and run["status"] == "completed" and run["output"] == "hello mcp", run)
    check("the run says MCP started it", run["trigger"] == "mcp", run)
    status = json.loads(text(await session.call_tool("workflow_status", {"run": run["id"]})))
    check("workflow_status has the steps", [s["step"] for s in status["steps"]] == ["w"] and status["steps"][0]["status"] == "completed", status)

    result = await session.call_tool("workflow_run", {"name": "greet", "inputs": {"who": 7}})
    check("inputs that break the schema are refused", result.is_error and "who" in text(result), text(result))
    result = await session.call_tool("workflow_run", {"name": "nothing"})
    check("an unknown workflow is an error", result.is_error and "no workflow named nothing" in text(result), text(result))
    result = await session.call_tool("workflow_run", {"name": "greet", "inputs": "who=x"})
    check("inputs must be an object", result.is_error, text(result))

    gated = json.loads(text(await session.call_tool("workflow_run", {"name": "gated", "wait": True})))
    check("a run stops at its approval", gated["status"] == "waiting", gated)
    result = await session.call_tool("workflow_approve", {"run": gated["id"], "step": "nope"})
    check("approving a step that does not wait is refused", result.is_error, text(result))
    result = await session.call_tool("workflow_approve", {"run": gated["id"], "step": "ok", "approve": True})
    check("workflow_approve", not result.is_error and json.loads(text(result))["approved"] is True, text(result))
    for _ in range(200):
        status = json.loads(text(await session.call_tool("workflow_status", {"run": gated["id"]})))
        if status["status"] in ("completed", "failed", "cancelled"):
            break
        await asyncio.sleep(0.05)
    check("the approved run completes", status["status"] == "completed", status)

    second = json.loads(text(await session.call_tool("workflow_run", {"name": "gated", "wait": True})))
    result = await session.call_tool("workflow_cancel", {"run": second["id"]})
    check("workflow_cancel", json.loads(text(result))["cancelling"] is True, text(result))
    for _ in range(200):
        status = json.loads(text(await session.call_tool("workflow_status", {"run": second["id"]})))
        if status["status"] in ("completed", "failed", "cancelled"):
            break
        await asyncio.sleep(0.05)
    check("the cancelled run ends cancelled", status["status"] == "cancelled", status)
    return run["id"]


async def stranger(session, run_id):
    listed = json.loads(text(await session.call_tool("workflow_list", {})))
    check("another user sees none of the workflows", listed == [], listed)
    for tool, args in [("workflow_status", {"run": run_id}), ("workflow_cancel", {"run": run_id}),
                       ("workflow_approve", {"run": run_id, "step": "ok"})]:
        result = await session.call_tool(tool, args)
        check(f"another user's {tool} finds no run", result.is_error and "no run" in text(result), text(result))
    result = await session.call_tool("workflow_run", {"name": "greet", "inputs": {"who": "x"}})
    check("another user cannot start the workflow", result.is_error and "belongs to" in text(result), text(result))


async def narrow(session):
    result = await session.call_tool("workflow_list", {})
    check("a token without the workflows scope is refused", result.is_error and "workflows scope" in text(result), text(result))


async def main():
    url, owner_token, other_token, narrow_token = sys.argv[1:5]
    run_id = await session_for(url, owner_token, owner)
    await session_for(url, other_token, lambda s: stranger(s, run_id))
    await session_for(url, narrow_token, narrow)
    print("all ok")


asyncio.run(main())
