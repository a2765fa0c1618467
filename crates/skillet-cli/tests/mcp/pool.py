"""A pooled code_session tool driven with the official Python SDK, as an agent would.

Run by tests/pool_cli.rs:  pool.py --target SKILLET --ws DIR [--scenario stateless|cancel]
stateless: a call with `input` and no session_id runs statelessly on a warm interpreter (a
run's result); a call without input starts a session whose state is kept (a session's result).
cancel: a pooled call abandoned mid-run (the SDK sends notifications/cancelled), then another
call, which a pool of one must still serve.
Every check raises on failure; the last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import time

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


async def cancel(args) -> dict:
    server = StdioServerParameters(command=args.target, args=["mcp"], cwd=args.ws, env=dict(os.environ))
    async with Client(server, read_timeout_seconds=60) as client:
        finished = False
        with anyio.move_on_after(1.5):
            await client.call_tool("py", {"input": "import time\ntime.sleep(30)"})
            finished = True
        expect(not finished, "the sleeping call was abandoned")
        started = time.monotonic()
        after = await client.call_tool("py", {"input": "print('after')"})
        expect(not after.is_error and text(after).startswith("after\n"), f"after a cancel: {after}")
        return {"ok": True, "next_call_s": time.monotonic() - started}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--ws", required=True)
    parser.add_argument("--scenario", default="stateless")
    parsed = parser.parse_args()
    summary = anyio.run(cancel if parsed.scenario == "cancel" else main, parsed)
    print(json.dumps(summary))
