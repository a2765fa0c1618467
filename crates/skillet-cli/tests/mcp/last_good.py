"""A skill file broken mid-edit keeps its last good version for an agent, over MCP.

Run by tests/mcp_reload.rs with the official Python SDK, as an agent would use the server:

    last_good.py --target SKILLET --mode auto|legacy --ws DIR

Breaks `echo.json` (and adds another skill at the same time), then checks that `echo` is still
listed and still answers as before; fixes it and sees the new version answer; deletes it and
sees it go. Every check raises on failure; the last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

import anyio
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def text(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def echo_skill(version: str) -> str:
    return json.dumps({"name": "echo", "description": "Echo a word", "type": "code_inline",
                       "command": "echo", "args": [version, "{word}"],
                       "parameters": [{"name": "word", "type": "string", "required": True}]}, indent=2)


async def names(client) -> list[str]:
    return [t.name for t in (await client.list_tools()).tools]


async def until(what, check, seconds=15.0):
    """Polls `check` (async) until it returns a true value; raises after `seconds`."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await anyio.sleep(0.05)
    raise AssertionError(f"{what}: not within {seconds} s (last: {last!r})")


async def run(args) -> dict:
    skills = pathlib.Path(args.ws) / ".skillet" / "skills"
    echo = skills / "echo.json"
    server = StdioServerParameters(command=args.target, args=["mcp"], cwd=args.ws, env=dict(os.environ))
    async with Client(server, mode=args.mode, read_timeout_seconds=60) as client:
        before = await names(client)
        expect("echo" in before, before)
        first = await client.call_tool("echo", {"word": "x"})
        expect(text(first) == "v1 x\n", f"first call: {first}")

        # Mid-edit: a typo in a field name, and another skill added at the same moment.
        echo.write_text(echo_skill("v2").replace('"command"', '"comand"'))
        (skills / "added.json").write_text(json.dumps({"name": "added", "type": "code_inline", "command": "true"}))

        async def added_listed():
            listed = await names(client)
            return listed if "added" in listed else None

        during = await until("the added skill listed", added_listed)
        expect("echo" in during, f"a broken echo.json must not remove echo: {during}")
        kept = await client.call_tool("echo", {"word": "x"})
        expect(not kept.is_error and text(kept) == "v1 x\n", f"the last good version answers: {kept}")

        # Not even JSON: still the last good version.
        echo.write_text('{"name": "echo",')
        await anyio.sleep(0.6)
        expect("echo" in await names(client), "unparsable echo.json removed echo")
        kept_again = await client.call_tool("echo", {"word": "x"})
        expect(text(kept_again) == "v1 x\n", f"after unparsable text: {kept_again}")

        # Fixed: the new version answers.
        echo.write_text(echo_skill("v3"))

        async def new_version():
            result = await client.call_tool("echo", {"word": "x"})
            return text(result) if text(result) == "v3 x\n" else None

        await until("the fixed version answering", new_version)

        # Deleted: gone.
        echo.unlink()

        async def removed():
            listed = await names(client)
            return listed if "echo" not in listed else None

        after = await until("echo removed after deletion", removed)
        try:
            gone = await client.call_tool("echo", {"word": "x"})
            expect(gone.is_error, f"a deleted skill must not answer: {gone}")
        except MCPError as e:
            expect("no tool named `echo`" in str(e), f"a deleted skill must not answer: {e}")
    return {"before": before, "during": during, "after": after}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--mode", default="auto")
    parser.add_argument("--ws", required=True)
    args = parser.parse_args()
    print(json.dumps(anyio.run(run, args)))


if __name__ == "__main__":
    main()
