"""What every client here prints: one line per check, and a non-zero exit at the first failure."""
import sys


def check(name, condition, detail=""):
    if not condition:
        print(f"FAIL {name}: {detail}")
        sys.exit(1)
    print(f"ok {name}")


def text(result):
    """The text parts of an MCP tool result, joined."""
    return "".join(part.text for part in result.content if getattr(part, "type", "") == "text")
