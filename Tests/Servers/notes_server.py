"""A small MCP server over stdio for Anima's workflow trigger tests: one resource that
changes, announced to subscribers.

Once a client subscribes to notes://today, the server announces three updates of it
(0.3 s apart) and one of notes://other, which the client never subscribed to.
"""
import asyncio

from mcp.server.mcpserver import MCPServer
from mcp_types import EmptyResult, SubscribeRequestParams

server = MCPServer("notes")
pending = set()


@server.resource("notes://today")
def today() -> str:
    """Today's notes."""
    return "buy milk"


async def announce(session, uri):
    for _ in range(3):
        await asyncio.sleep(0.3)
        await session.send_resource_updated(uri)
        await session.send_resource_updated("notes://other")


async def subscribe(ctx, params: SubscribeRequestParams) -> EmptyResult:
    task = asyncio.get_running_loop().create_task(announce(ctx.session, str(params.uri)))
    pending.add(task)
    task.add_done_callback(pending.discard)
    return EmptyResult()


server._lowlevel_server.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)

if __name__ == "__main__":
    server.run()
