"""Calls the tools of installed store packages through Anima with the official MCP Python SDK.

Usage: mcp_package_tools_client.py stdio ANIMA_BINARY [ARGS...]
       mcp_package_tools_client.py http URL TOKEN NET_TOKEN
Two tool packages are installed, both serving the mail MCP server: `quiet-mail`, which asked
for nothing, and `mail-tools`, granted the network (so its tools need the `net` group).
TOKEN's user (and the stdio user) lacks `net`; NET_TOKEN's user holds it.
Prints one line per check and exits non-zero at the first failure.
"""
import asyncio
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from checks import check, text


async def without_net(read, write):
    async with ClientSession(read, write) as session:
        await session.initialize()
        names = [tool.name for tool in (await session.list_tools()).tools]
        wanted = {"quiet-mail__list_emails", "mail-tools__list_emails"}
        check("the packages' tools are offered", wanted <= set(names), names)
        result = await session.call_tool("quiet-mail__list_emails", {})
        check("a package granted nothing is callable by anyone", not result.is_error and "June 13" in text(result), text(result))
        result = await session.call_tool("mail-tools__list_emails", {})
        check("a package granted the network needs the net group", result.is_error and "net" in text(result), text(result))


async def with_net(read, write):
    async with ClientSession(read, write) as session:
        await session.initialize()
        result = await session.call_tool("mail-tools__list_emails", {})
        check("a holder of net calls the networked package", not result.is_error and "June 13" in text(result), text(result))


async def http(url, token, body):
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as client:
        async with streamable_http_client(url, http_client=client) as streams:
            await body(streams[0], streams[1])


async def main():
    if sys.argv[1] == "stdio":
        parameters = StdioServerParameters(command=sys.argv[2], args=sys.argv[3:])
        async with stdio_client(parameters) as (read, write):
            await without_net(read, write)
    else:
        url, token, net_token = sys.argv[2], sys.argv[3], sys.argv[4]
        await http(url, token, without_net)
        await http(url, net_token, with_net)
    print("all ok")


asyncio.run(main())
