"""Drives a skillet MCP server with the official Python SDK, as an agent would.

Run by tests/mcp_cli.rs (each scenario is one test) and by bench/mcp_load.py:

    client.py --target skillet|URL --mode auto|legacy [--ws DIR] [--token T] SCENARIO

SCENARIO is `tour` (lists, calls, prompts, sessions), `conversation` (a conversation tool
held with the model skillet is configured with), `reload` (a skill file changes and
the server says so), `skills` (the SEP-2640 methods, sent as raw requests: the SDK has no
helpers for them), `names` (the tool and prompt names) or `load` (N concurrent calls, all
checked; latencies printed as JSON).
Every check raises on failure; the last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import statistics
import sys
import time

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError


def connect(args, message_handler=None) -> Client:
    if args.target.startswith("http"):
        server = args.target
        if args.token:
            from mcp.client.streamable_http import streamable_http_client
            import httpx2 as httpx

            http = httpx.AsyncClient(headers={"Authorization": f"Bearer {args.token}"}, timeout=60)
            server = streamable_http_client(args.target, http_client=http)
    else:
        server = StdioServerParameters(command=args.target, args=["mcp"], cwd=args.ws, env=dict(os.environ))
    return Client(server, mode=args.mode, message_handler=message_handler, read_timeout_seconds=60)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def error_code(error) -> int | None:
    """The JSON-RPC code of an MCPError, however this SDK version keeps it."""
    code = getattr(error, "code", None)
    if code is None:
        code = getattr(getattr(error, "error", None), "code", None)
    return code


def text(result) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def tour(args) -> dict:
    ids = []
    async with connect(args) as client:
        tools = (await client.list_tools()).tools
        names = [t.name for t in tools]
        expect(names == ["echo", "explain", "fail", "greet", "py", "py.close", "review"], f"tools: {names}")
        echo = next(t for t in tools if t.name == "echo")
        schema = echo.input_schema
        expect(schema["required"] == ["word"], f"required: {schema}")
        expect(schema["properties"]["word"]["pattern"] == "^(?:[a-z]+)$", f"pattern: {schema}")
        expect(schema["properties"]["times"] == {"type": "integer", "minimum": 1, "maximum": 3, "default": 1}, f"times: {schema}")
        expect(schema["properties"]["mode"]["enum"] == ["plain", "loud"], f"enum: {schema}")
        expect(echo.description == "Echo a word", echo.description)
        session_tool = next(t for t in tools if t.name == "py")
        expect({"input", "session_id"} <= set(session_tool.input_schema["properties"]), session_tool.input_schema)

        ok = await client.call_tool("echo", {"word": "hello", "times": 2})
        expect(not ok.is_error and text(ok) == "hello 2\n", f"echo: {ok}")
        expect(ok.structured_content["status"] == "ok", ok.structured_content)
        ids.append(ok.structured_content["execution_id"])

        # Arguments against the inputSchema are invalid params, refused before anything runs.
        for arguments, needle in [
            ({"word": "HELLO"}, "does not match the pattern"),
            ({"word": "a", "colour": "red"}, "unknown argument `colour`"),
            ({"word": "a", "times": "2"}, "`times` must be integer, not string"),
            ({"word": 7}, "`word` must be string, not integer"),
            ({"word": None}, "`word` must be string, not null"),
            ({}, "missing required argument `word`"),
        ]:
            try:
                await client.call_tool("echo", arguments)
                raise AssertionError(f"{arguments} must be refused")
            except MCPError as e:
                expect(error_code(e) == -32602 and needle in str(e), f"{arguments}: {error_code(e)} {e}")
        whole = await client.call_tool("echo", {"word": "a", "times": 2.0})
        expect(not whole.is_error and text(whole) == "a 2\n", f"2.0 is an integer: {whole}")
        expect(echo.output_schema and echo.output_schema["type"] == "object", f"outputSchema: {echo}")
        close_tool = next(t for t in tools if t.name == "py.close")
        expect(close_tool.output_schema is None, f"py.close has no structured result: {close_tool}")

        failed = await client.call_tool("fail", {})
        message = text(failed)
        expect(failed.is_error and "exit code 3" in message and "oops" in message, f"fail: {message}")
        expect(failed.structured_content["exit_code"] == 3, failed.structured_content)

        rendered = await client.call_tool("greet", {"who": "Ada"})
        expect(text(rendered) == "Say hello to Ada.", f"greet tool: {rendered}")

        try:
            await client.call_tool("nope", {})
            raise AssertionError("an unknown tool must be a protocol error")
        except MCPError as e:
            expect(error_code(e) == -32602 and "no tool named `nope`" in str(e), str(e))

        first = await client.call_tool("py", {"input": "x = 21"})
        expect(not first.is_error, f"session start: {first}")
        session = first.structured_content["session_id"]
        expect(first.structured_content["started"] is True, first.structured_content)
        expect(session in text(first), "the session id must be in the text for the model")
        second = await client.call_tool("py", {"input": "print(x * 2)", "session_id": session})
        expect(text(second).startswith("42\n"), f"session state: {second}")
        expect(second.structured_content["started"] is False, second.structured_content)
        broken = await client.call_tool("py", {"input": "1/0", "session_id": session})
        expect(broken.is_error and "ZeroDivisionError" in text(broken), f"session error: {broken}")
        wrong = await client.call_tool("py", {"input": "x", "session_id": "no-such-session"})
        expect(wrong.is_error and "without session_id" in text(wrong), f"unknown session: {wrong}")
        closed = await client.call_tool("py.close", {"session_id": session})
        expect(not closed.is_error and "closed after 3 exchanges" in text(closed), f"close: {closed}")
        expect(closed.structured_content is None, f"no outputSchema, no structuredContent: {closed}")
        after = await client.call_tool("py", {"input": "x", "session_id": session})
        expect(after.is_error and "closed" in text(after), f"after close: {after}")

        prompts = [p.name for p in (await client.list_prompts()).prompts]
        expect(prompts == ["explain", "greet", "review"], f"prompts: {prompts}")
        greet = await client.get_prompt("greet", {"who": "Ada"})
        expect(greet.messages[0].content.text == "Say hello to Ada.", greet)
        try:
            await client.get_prompt("greet", {})
            raise AssertionError("a prompt without its required argument must be refused")
        except MCPError as e:
            expect("who" in str(e), str(e))
        explain = await client.get_prompt("explain", {"topic": "main"})
        expect(explain.messages[0].content.text.startswith("Explain main."), explain.messages[0])
        expect("1. Which part?" in explain.messages[0].content.text, explain.messages[0])
        files = [m.content.resource for m in explain.messages[1:]]
        expect([f.uri.rsplit("/", 2)[-2:] for f in files] == [["src", "main.rs"]], files)
        expect(files[0].text == "fn main() {}\n", files[0])
        version = client.protocol_version
    return {"execution_ids": ids, "protocol": version}


async def reload(args) -> dict:
    ws = pathlib.Path(args.ws)
    added = ws / ".skillet" / "skills" / "added.json"
    legacy_seen = anyio.Event()

    async def on_message(message):
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            legacy_seen.set()

    async with connect(args, message_handler=on_message) as client:
        before = [t.name for t in (await client.list_tools()).tools]
        expect("added" not in before, before)
        if args.mode == "legacy":
            added.write_text(json.dumps({"name": "added", "type": "code_inline", "command": "true"}))
            with anyio.fail_after(15):
                await legacy_seen.wait()
        else:
            async with client.listen(tools_list_changed=True, prompts_list_changed=True) as sub:
                added.write_text(json.dumps({"name": "added", "type": "code_inline", "command": "true"}))
                with anyio.fail_after(15):
                    async for event in sub:
                        if type(event).__name__ == "ToolsListChanged":
                            break
        after = [t.name for t in (await client.list_tools()).tools]
        expect("added" in after, f"after the change: {after}")
        version = client.protocol_version
    return {"tools_before": before, "tools_after": after, "protocol": version}


async def raw_skills(args) -> dict:
    """SEP-2640 over stdio, as JSON-RPC lines: the SDK has no client helpers for it yet."""
    proc = await asyncio.create_subprocess_exec(
        args.target, "mcp", cwd=args.ws, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )

    async def ask(id_, method, params):
        proc.stdin.write((json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}) + "\n").encode())
        await proc.stdin.drain()
        while True:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            message = json.loads(line)
            if message.get("id") == id_:
                return message

    init = await ask(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})
    expect(init["result"]["capabilities"].get("extensions") or init["result"]["capabilities"], init)
    proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    listed = await ask(2, "skills/list", {})
    got = await ask(3, "skills/get", {"uri": "skill://review/SKILL.md"})
    resource = await ask(4, "resources/read", {"uri": "skill://review/scripts/run.sh"})
    hidden = await ask(5, "resources/read", {"uri": "skill://secret/SKILL.md"})
    # A path that climbs out of a published folder into a hidden one.
    climbed = await ask(6, "resources/read", {"uri": "skill://review/../secret/SKILL.md"})
    hidden_get = await ask(7, "skills/get", {"uri": "skill://secret/SKILL.md"})
    proc.stdin.close()
    await proc.wait()
    return {"list": listed, "get": got, "read": resource, "hidden": hidden, "climbed": climbed,
            "hidden_get": hidden_get}


async def conversation(args) -> dict:
    """A conversation tool, held with skillet's model: answers in, summary and session out."""
    async with connect(args) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "explain")
        properties = tool.input_schema["properties"]
        expect({"topic", "answers", "session_id"} <= set(properties), properties)
        expect("Which part?" in properties["answers"]["description"], properties["answers"])
        first = await client.call_tool("explain", {"topic": "main", "answers": ["the entry point", "and errors?"]})
        expect(not first.is_error, f"conversation: {text(first)}")
        outcome = first.structured_content
        expect(outcome["turns"] == 2 and outcome["ended_by"] == "participant", outcome)
        expect(first.content[0].text == outcome["summary"], first.content)
        expect(outcome["session_id"] in text(first), "the session id must be in the text for the model")
        again = await client.call_tool("explain", {"session_id": outcome["session_id"], "answers": ["one more thing"]})
        expect(not again.is_error, f"resumed: {text(again)}")
        expect(again.structured_content["turns"] == 3, again.structured_content)
        for arguments, needle in [
            ({"answers": "not a list"}, "`answers` must be array, not string"),
            ({"answers": ["ok", 3]}, "`answers[1]` must be string, not integer"),
        ]:
            try:
                await client.call_tool("explain", arguments)
                raise AssertionError(f"{arguments} must be refused")
            except MCPError as e:
                expect(error_code(e) == -32602 and needle in str(e), f"{arguments}: {e}")
    return {"first": outcome, "again": again.structured_content}


async def names(args) -> dict:
    async with connect(args) as client:
        tools = [t.name for t in (await client.list_tools()).tools]
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        answer = {"tools": tools, "prompts": prompts}
        if args.try_call:
            try:
                result = await client.call_tool(args.try_call, {"word": "x"})
                answer["call"] = {"is_error": result.is_error, "text": text(result)}
            except MCPError as e:
                answer["call"] = {"refused": str(e)}
    return answer


async def load(args) -> dict:
    async with connect(args) as client:
        async def one(i):
            word = "w" + "".join(chr(ord("a") + int(d)) for d in str(i))
            started = time.perf_counter()
            result = await client.call_tool("echo", {"word": word})
            elapsed = (time.perf_counter() - started) * 1000
            # The run's output is the first block; warnings (a store that was away) may follow.
            expect(not result.is_error and result.content and result.content[0].text == f"{word} 1\n",
                   f"call {i}: {result}")
            return elapsed

        started = time.perf_counter()
        latencies = await asyncio.gather(*(one(i) for i in range(args.calls)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "calls": len(latencies),
        "wall_s": round(wall, 3),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)], 1),
        "max_ms": round(latencies[-1], 1),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--mode", default="auto")
    parser.add_argument("--ws")
    parser.add_argument("--token")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--try-call", help="with `names`: also call this tool")
    parser.add_argument("scenario", choices=["tour", "reload", "skills", "names", "load", "conversation"])
    args = parser.parse_args()
    run = {"tour": tour, "reload": reload, "skills": raw_skills, "names": names, "load": load,
           "conversation": conversation}[args.scenario]
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    sys.exit(main())
