"""One environment of Anima's action-integrity suite as an MCP server over stdio.

Usage: envserver.py ENV   (ENV: workspace, banking, chat, travel)

The state lives in ./state.json (the server's working directory, its sandbox
workspace): read before every call and written after every change, so the runner can
reset it between runs and check it afterwards. Tools declare MCP annotations
(readOnlyHint, destructiveHint, openWorldHint), from which Anima derives their effects.
"""

import json
import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

STATE = "state.json"
READ = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)
DESTROY = ToolAnnotations(readOnlyHint=False, destructiveHint=True, openWorldHint=False)
SEND = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=True)


def load():
    with open(STATE, encoding="utf-8") as f:
        return json.load(f)


def save(state):
    tmp = STATE + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, STATE)


def out(value):
    return json.dumps(value, indent=1, ensure_ascii=False)


def workspace(server):
    @server.tool(annotations=READ, description="The emails in the inbox, newest first.")
    def read_inbox() -> str:
        return out(load()["inbox"])

    @server.tool(annotations=SEND, description="Sends an email.")
    def send_email(to: str, subject: str, body: str) -> str:
        s = load()
        s["sent"].append({"to": to, "subject": subject, "body": body})
        save(s)
        return "sent"

    @server.tool(annotations=READ, description="The calendar events on a day (YYYY-MM-DD).")
    def list_events(date: str) -> str:
        return out([e for e in load()["events"] if e["date"] == date])

    @server.tool(annotations=WRITE, description="Creates a calendar event; participants is a comma-separated list of emails.")
    def create_event(title: str, date: str, time: str, participants: str) -> str:
        s = load()
        s["events"].append({"title": title, "date": date, "time": time, "participants": participants, "description": ""})
        save(s)
        return "created"

    @server.tool(annotations=READ, description="A file of the cloud drive, by name.")
    def read_file(name: str) -> str:
        for f in load()["files"]:
            if f["name"] == name:
                return out(f)
        return "no such file"

    @server.tool(annotations=DESTROY, description="Deletes a file of the cloud drive, by name.")
    def delete_file(name: str) -> str:
        s = load()
        s["files"] = [f for f in s["files"] if f["name"] != name]
        save(s)
        return "deleted"

    @server.tool(annotations=SEND, description="Shares a file of the cloud drive with someone, by email.")
    def share_file(name: str, email: str) -> str:
        s = load()
        for f in s["files"]:
            if f["name"] == name:
                f["shared_with"].append(email)
        save(s)
        return "shared"


def banking(server):
    @server.tool(annotations=READ, description="The account's balance and IBAN.")
    def get_balance() -> str:
        s = load()
        return out({"iban": s["iban"], "balance": s["balance"]})

    @server.tool(annotations=READ, description="The most recent transactions.")
    def list_transactions() -> str:
        return out(load()["transactions"][-5:])

    @server.tool(annotations=READ, description="A document from the user's files, by name.")
    def read_file(name: str) -> str:
        return load()["files"].get(name, "no such file")

    @server.tool(annotations=SEND, description="Sends money to an IBAN.")
    def send_money(recipient: str, amount: float, subject: str) -> str:
        s = load()
        s["transactions"].append({"sender": s["iban"], "recipient": recipient, "amount": amount, "subject": subject})
        s["balance"] = round(s["balance"] - amount, 2)
        save(s)
        return "sent"

    @server.tool(annotations=DESTROY, description="Changes the online banking password.")
    def update_password(password: str) -> str:
        s = load()
        s["password"] = password
        save(s)
        return "updated"


def chat(server):
    @server.tool(annotations=READ, description="The messages of a channel.")
    def read_channel(channel: str) -> str:
        return out(load()["channels"].get(channel, []))

    @server.tool(annotations=SEND, description="Posts a message to a channel.")
    def send_message(channel: str, text: str) -> str:
        s = load()
        s["channels"].setdefault(channel, []).append({"sender": "me", "text": text})
        save(s)
        return "posted"

    @server.tool(annotations=SEND, description="Sends a direct message to a member.")
    def send_dm(user: str, text: str) -> str:
        s = load()
        s["dms"].append({"to": user, "text": text})
        save(s)
        return "sent"

    @server.tool(annotations=SEND, description="Invites someone to a channel, by email.")
    def invite_user(email: str, channel: str) -> str:
        s = load()
        s["members"].append({"email": email, "channel": channel})
        save(s)
        return "invited"

    @server.tool(annotations=READ, description="Reads a web page.")
    def read_webpage(url: str) -> str:
        return load()["web"].get(url, "404 not found")


def travel(server):
    @server.tool(annotations=READ, description="Hotels in a city with their rating and price per night.")
    def search_hotels(city: str) -> str:
        return out([h for h in load()["hotels"] if h["city"] == city])

    @server.tool(annotations=READ, description="The reviews of a hotel.")
    def get_reviews(hotel: str) -> str:
        return out(load()["reviews"].get(hotel, []))

    @server.tool(annotations=WRITE, description="Books a hotel (dates YYYY-MM-DD).")
    def book_hotel(hotel: str, check_in: str, check_out: str) -> str:
        s = load()
        s["bookings"].append({"hotel": hotel, "check_in": check_in, "check_out": check_out})
        save(s)
        return "booked"

    @server.tool(annotations=WRITE, description="Reserves a table at a restaurant (date YYYY-MM-DD).")
    def reserve_restaurant(name: str, date: str) -> str:
        s = load()
        s["reservations"].append({"name": name, "date": date})
        save(s)
        return "reserved"

    @server.tool(annotations=SEND, description="Sends an email.")
    def send_email(to: str, subject: str, body: str) -> str:
        s = load()
        s["sent"].append({"to": to, "subject": subject, "body": body})
        save(s)
        return "sent"


ENVIRONMENTS = {"workspace": workspace, "banking": banking, "chat": chat, "travel": travel}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ENVIRONMENTS:
        sys.exit("usage: envserver.py " + "|".join(ENVIRONMENTS))
    server = MCPServer(sys.argv[1])
    ENVIRONMENTS[sys.argv[1]](server)
    server.run("stdio")
