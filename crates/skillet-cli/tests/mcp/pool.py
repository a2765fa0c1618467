"""A pooled code_session tool driven with the official Python SDK, as an agent would.

Run by tests/pool_cli.rs:  pool.py --target SKILLET --ws DIR
A call with `input` and no session_id runs statelessly on a warm interpreter (a run's result);
a call without input starts a session whose state is kept (a session's result).
Every check raises on failure; the last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os

import anyio
from mcp import Client, StdioServerParameters


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def text(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def main(args) -> dict:
    server = StdioServerParameters(command=args.target, args=["mcp"], cwd=args.ws, env=dict(os.environ))
    async with Client(server, read_timeout_seconds=60) as client:
        first = await client.call_tool("py", {"input": "x = 21\nprint('set')"})
        expect(not first.is_error and text(first).startswith("set\n"), f"pooled call: {first}")
        expect(first.structured_content["status"] == "ok", first.structured_content)
        expect("session_id" not in first.structured_content, first.structured_content)
        second = await client.call_tool("py", {"input": "print(x)"})
        expect(second.is_error and "NameError" in text(second), f"state leaked: {second}")
        # Without input: a session, whose state is kept, as before.
        started = await client.call_tool("py", {})
        session = started.structured_content["session_id"]
        await client.call_tool("py", {"input": "y = 2", "session_id": session})
        kept = await client.call_tool("py", {"input": "print(y * 21)", "session_id": session})
        expect(text(kept).startswith("42\n"), f"session state: {kept}")
        await client.call_tool("py.close", {"session_id": session})
    return {"ok": True, "pooled": first.structured_content["execution_id"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--ws", required=True)
    summary = anyio.run(main, parser.parse_args())
    print(json.dumps(summary))
