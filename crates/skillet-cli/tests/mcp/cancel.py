"""Cancels a running tool call with the official MCP Python SDK, as an agent does.

Run by tests/cancel_cli.rs:

    cancel.py --target SKILLET --mode auto|legacy --ws DIR --after SECONDS

Calls the `sleeper` tool and abandons the call after SECONDS (the SDK then sends
`notifications/cancelled`), then calls `echo` on the same connection to show the server still
answers. The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import anyio
from mcp import Client, StdioServerParameters


def text(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def run(args) -> dict:
    server = StdioServerParameters(command=args.target, args=["mcp"], cwd=args.ws, env=dict(os.environ))
    async with Client(server, mode=args.mode, read_timeout_seconds=60) as client:
        started = time.monotonic()
        finished = False
        with anyio.move_on_after(args.after):
            await client.call_tool("sleeper", {})
            finished = True
        abandoned_after = time.monotonic() - started
        # The same connection keeps serving.
        echo = await client.call_tool("echo", {"word": "still"})
        return {"finished": finished, "abandoned_after": abandoned_after, "echo": text(echo)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--mode", default="auto")
    parser.add_argument("--ws", required=True)
    parser.add_argument("--after", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps(anyio.run(run, args)))


if __name__ == "__main__":
    main()
