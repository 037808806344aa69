"""Checks that agents reached over Anima's native API and over MCP can use MCP tools.

Usage: agent_tools_client.py native URL TOKEN
       agent_tools_client.py stdio ANIMA_BENCH [ARGS...]
The daemon (or `anima-bench mcp`) must have the mail server of Tests/Servers as "mail".
Prints one line per check and exits non-zero at the first failure.
"""
import asyncio
import json
import sys
import urllib.error
import urllib.request

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from checks import check


def request(url, token, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def native(url, token):
    status, body = request(url, token, "/anima/v1/tools")
    names = [tool["function"]["name"] for tool in json.loads(body)] if status == 200 else []
    check("the daemon offers the MCP server's tools", {"mail__list_emails", "mail__send_email"} <= set(names), body)
    check("and its built-ins", "calculator" in names, names)
    status, body = request(url, token, "/anima/v1/agents/run", {"task": "hello", "tools": ["mail"], "max_steps": 1})
    check("an agent may be given a whole server", status == 200 and "event: exited" in body and "completed" in body, f"{status} {body}")
    status, body = request(url, token, "/anima/v1/agents/run", {"task": "hello", "tools": ["mail__send_*", "calculator"], "max_steps": 1})
    check("and a glob", status == 200 and "completed" in body, f"{status} {body}")
    status, body = request(url, token, "/anima/v1/agents/run", {"task": "hello", "tools": ["mail__send"], "max_steps": 1})
    check("an unknown tool is a 400 naming what exists", status == 400 and "mail__send_email" in body and "mail__send" in body, f"{status} {body}")
    status, body = request(url, token, "/anima/v1/processes", {"task": "hello", "tools": ["nothing*"]})
    check("and so is a glob that matches nothing", status == 400 and "nothing*" in body, f"{status} {body}")


async def stdio(command, args):
    async with stdio_client(StdioServerParameters(command=command, args=args)) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            names = [tool.name for tool in (await session.list_tools()).tools]
            check("anima mcp offers the selected MCP tools", {"mail__list_emails", "mail__send_email", "run_agent"} <= set(names), names)
            result = await session.call_tool("mail__list_emails", {})
            text = "".join(part.text for part in result.content if getattr(part, "type", "") == "text")
            check("an MCP tool runs through Anima", not result.is_error and "June 13" in text, text)
            result = await session.call_tool("run_agent", {"task": "hello", "max_steps": 1, "tools": ["mail"]})
            text = "".join(part.text for part in result.content if getattr(part, "type", "") == "text")
            check("run_agent takes a server's name", not result.is_error, text)
            result = await session.call_tool("run_agent", {"task": "hello", "max_steps": 1, "tools": ["mail__*", "bank"]})
            text = "".join(part.text for part in result.content if getattr(part, "type", "") == "text")
            check("run_agent refuses a server it lacks, naming what exists", result.is_error and "bank" in text and "mail__send_email" in text, text)


def main():
    if sys.argv[1] == "native":
        native(sys.argv[2], sys.argv[3])
    else:
        asyncio.run(stdio(sys.argv[2], sys.argv[3:]))
    print("all ok")


main()
