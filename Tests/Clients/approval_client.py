"""Answers an Anima agent's questions about its tool calls, over the native API and MCP.

Usage: approval_client.py api URL OWNER_TOKEN OTHER_TOKEN
       approval_client.py mcp ANIMA_BENCH [ARGS...]
The agent (a scripted one) reads the mail server's inbox, then mails bob@example.com, a
recipient that came from the inbox, which the policy asks about. Prints one line per
check and exits non-zero at the first failure.
"""
import asyncio
import http.client
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
import mcp_types as types

from checks import check


def post(url, token, path, body):
    req = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def events(response):
    """Yields (name, data) of each server-sent event."""
    name, data = None, ""
    for raw in response:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data += line[6:]
        elif line == "" and name is not None:
            yield name, json.loads(data) if data else None
            name, data = None, ""


def run_agent(url, token, task):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.request(
        "POST", "/anima/v1/agents/run", json.dumps({"task": task, "tools": ["mail"], "max_steps": 6}),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = connection.getresponse()
    check("the agent runs", response.status == 200, response.status)
    return connection, events(response)


def api(url, owner, other):
    for approve in [True, False]:
        connection, stream = run_agent(url, owner, "Reply to the invoice email")
        pid, request, answer = None, None, None
        for name, data in stream:
            if name == "spawned":
                pid = data["pid"]
            elif name == "approval":
                request = data
                to = next(a for a in data["arguments"] if a["path"] == "to")
                check("the question names the call", data["tool"] == "mail__send_email", data)
                check("and each argument's value and source", to["value"] == "bob@example.com" and "tool:mail__list_emails" in to["sources"] and not to["trusted"], to)
                check("the question is listed", data["id"] in post_list(url, owner, pid), "")
                status, body = post(url, other, f"/anima/v1/processes/{pid}/approvals/{data['id']}", {"approve": True})
                check("another user cannot answer (not even see it)", status == 404, f"{status} {body}")
                status, body = post(url, owner, f"/anima/v1/processes/{pid}/approvals/apr_unknown", {"approve": True})
                check("an unknown request is a 404", status == 404, f"{status} {body}")
                status, body = post(url, owner, f"/anima/v1/processes/{pid}/approvals/{data['id']}", {"approve": "yes"})
                check("approve must be a boolean", status == 400, f"{status} {body}")
                status, body = post(url, owner, f"/anima/v1/processes/{pid}/approvals/{data['id']}", {"approve": approve})
                check("the owner answers", status == 200 and json.loads(body)["approved"] == approve, f"{status} {body}")
                status, body = post(url, owner, f"/anima/v1/processes/{pid}/approvals/{data['id']}", {"approve": not approve})
                check("a second answer is a 409", status == 409, f"{status} {body}")
            elif name == "exited":
                answer = data.get("answer", "")
                break
        connection.close()
        check("the agent asked", request is not None, "")
        if approve:
            check("an approved call runs", "sent to bob@example.com" in answer, answer)
        else:
            check("a denied call does not", "declined" in answer and "sent to" not in answer, answer)


def post_list(url, token, pid):
    req = urllib.request.Request(url + f"/anima/v1/processes/{pid}/approvals", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return [item["id"] for item in json.loads(response.read().decode())]


async def mcp(command, args):
    asked = []

    def answering(approve):
        async def callback(context, params):
            asked.append(params.message)
            schema = params.requested_schema
            check("the elicitation asks for a yes or no", "approve" in schema["properties"], schema)
            return types.ElicitResult(action="accept", content={"approve": approve})
        return callback

    for approve in [True, False]:
        async with stdio_client(StdioServerParameters(command=command, args=args)) as (read, write):
            async with ClientSession(read, write, elicitation_callback=answering(approve)) as session:
                await session.initialize()
                result = await session.call_tool("run_agent", {"task": "Reply to the invoice email", "max_steps": 6, "tools": ["mail"]})
                text = "".join(part.text for part in result.content if getattr(part, "type", "") == "text")
                question = asked[-1] if asked else ""
                check("the MCP client was asked by elicitation", "mail__send_email" in question and "bob@example.com" in question and "tool:mail__list_emails" in question, question)
                if approve:
                    check("accepting runs the call", "sent to bob@example.com" in text, text)
                else:
                    check("refusing denies it", "declined" in text and "sent to" not in text, text)
    # A client that takes no questions: a denial, with the reason.
    async with stdio_client(StdioServerParameters(command=command, args=args)) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("run_agent", {"task": "Reply to the invoice email", "max_steps": 6, "tools": ["mail"]})
            text = "".join(part.text for part in result.content if getattr(part, "type", "") == "text")
            check("without elicitation no one is asked", "could not ask" in text and "sent to" not in text, text)


def main():
    if sys.argv[1] == "api":
        api(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        asyncio.run(mcp(sys.argv[2], sys.argv[3:]))
    print("all ok")


main()
