"""Tool calls over HTTP waiting in the daemon's one queue, driven with the official MCP Python SDK.

Run by tests/mcp_queue_http.rs:  queue_http.py --url URL --token TOKEN [--scenario turns|busy]

The daemon runs one job at a time (`[jobs] max_running = 1`):
- two `slow` calls sent at once both answer, one after the other;
- a `slow` call abandoned while it waits behind `sleeper`, then `sleeper` abandoned while it runs:
  an `echo` call after them runs at once (neither kept its place or slot);
- `limited` runs past its timeout and answers `timeout`.
busy (`max_queued = 1` too): with `sleeper` running and a `slow` call waiting, an `echo` call is
refused at once with a `busy:` tool error; once both are abandoned, `echo` runs.
Every check raises on failure; the last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import time

import anyio
import httpx2 as httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def text(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def main(args) -> dict:
    http = httpx.AsyncClient(headers={"Authorization": f"Bearer {args.token}"}, timeout=60)
    server = streamable_http_client(args.url, http_client=http)
    summary = {}
    async with Client(server, read_timeout_seconds=60) as client:
        answers = {}

        async def slow(n):
            started = time.monotonic()
            result = await client.call_tool("slow", {})
            answers[n] = (result, time.monotonic() - started)

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(slow, 1)
            group.start_soon(slow, 2)
        both = time.monotonic() - started
        for n, (result, _) in answers.items():
            expect(not result.is_error and text(result).startswith("done"), f"slow {n}: {result}")
        summary["both_s"] = both
        summary["each_s"] = sorted(took for _, took in answers.values())

        abandoned = {}

        async def sleeper():
            with anyio.move_on_after(2.0):
                await client.call_tool("sleeper", {})
                abandoned["sleeper_finished"] = True

        async def waiting():
            await anyio.sleep(0.5)
            with anyio.move_on_after(1.0):
                await client.call_tool("slow", {})
                abandoned["waiting_finished"] = True

        async with anyio.create_task_group() as group:
            group.start_soon(sleeper)
            group.start_soon(waiting)
        expect(not abandoned, f"the abandoned calls finished: {abandoned}")
        started = time.monotonic()
        echo = await client.call_tool("echo", {"word": "after"})
        summary["echo_s"] = time.monotonic() - started
        expect(not echo.is_error and text(echo).strip() == "after", f"echo: {echo}")

        limited = await client.call_tool("limited", {})
        expect(limited.is_error, f"limited: {limited}")
        summary["limited_status"] = limited.structured_content["status"]
    return summary


async def busy(args) -> dict:
    http = httpx.AsyncClient(headers={"Authorization": f"Bearer {args.token}"}, timeout=60)
    server = streamable_http_client(args.url, http_client=http)
    summary = {}
    async with Client(server, read_timeout_seconds=60) as client:

        async def abandoned(tool, after):
            with anyio.move_on_after(after):
                await client.call_tool(tool, {})
                summary[f"{tool}_finished"] = True

        async with anyio.create_task_group() as group:
            group.start_soon(abandoned, "sleeper", 3.0)
            await anyio.sleep(0.7)
            group.start_soon(abandoned, "slow", 2.0)
            await anyio.sleep(0.7)
            started = time.monotonic()
            refused = await client.call_tool("echo", {"word": "refused"})
            summary["refused_s"] = time.monotonic() - started
            expect(refused.is_error and text(refused).startswith("busy:"), f"not busy: {refused}")
            summary["refused"] = text(refused)
        echo = await client.call_tool("echo", {"word": "after"})
        expect(not echo.is_error and text(echo).strip() == "after", f"echo: {echo}")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--scenario", default="turns")
    parsed = parser.parse_args()
    print(json.dumps(anyio.run(busy if parsed.scenario == "busy" else main, parsed)))
