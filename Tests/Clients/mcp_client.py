"""Connects to Anima with the official MCP Python SDK, lists its tools and calls them.

Usage: mcp_client.py stdio ANIMA_BINARY [ARGS...]
       mcp_client.py http URL TOKEN [TOOLS]
TOOLS (or the value of --tools in ARGS) are kernel tools the server must offer, comma-separated.
Prints one line per check and exits non-zero at the first failure.
"""
import asyncio
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from checks import check, text


async def exercise(read, write, tools):
    async with ClientSession(read, write) as session:
        await session.initialize()
        names = [tool.name for tool in (await session.list_tools()).tools]
        check("list tools", {"run_agent", "list_processes", "memory_write", "memory_read"} <= set(names), names)
        check("kernel tools", set(tools) <= set(names), f"{tools} not all in {names}")
        if tools:
            result = await session.call_tool("run_agent", {"task": "x", "max_steps": 1, "tools": [tools[0], "telepathy"]})
            check("run_agent refuses an unknown tool", result.is_error and "telepathy" in text(result) and tools[0] in text(result), text(result))
        result = await session.call_tool("memory_write", {"key": "favourite", "value": {"colour": "green"}})
        check("memory_write", not result.is_error, text(result))
        result = await session.call_tool("memory_read", {"key": "favourite"})
        check("memory_read", '"colour":"green"' in text(result), text(result))
        result = await session.call_tool("run_agent", {"task": "Say hello", "max_steps": 1})
        check("run_agent", not result.is_error and "hello" in text(result).lower(), text(result))
        result = await session.call_tool("list_processes", {})
        check("list_processes", "mcp-agent" in text(result), text(result))
        result = await session.call_tool("memory_search", {"query": "anything at all"})
        check("memory_search", not result.is_error, text(result))
        result = await session.call_tool("memory_search", {"query": "x", "agent": "../escape"})
        check("memory_search refuses a bad agent name", result.is_error, text(result))
        result = await session.call_tool("no_such_tool", {})
        check("unknown tool is an error", result.is_error, text(result))


async def main():
    mode = sys.argv[1]
    if mode == "stdio":
        args = sys.argv[3:]
        tools = args[args.index("--tools") + 1].split(",") if "--tools" in args else []
        parameters = StdioServerParameters(command=sys.argv[2], args=args)
        async with stdio_client(parameters) as (read, write):
            await exercise(read, write, tools)
    else:
        url, token = sys.argv[2], sys.argv[3]
        tools = sys.argv[4].split(",") if len(sys.argv) > 4 else []
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
            async with streamable_http_client(url, http_client=http) as streams:
                await exercise(streams[0], streams[1], tools)
    print("all ok")


asyncio.run(main())
