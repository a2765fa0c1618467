#!/usr/bin/env python3
"""Load on the MCP server: 200 concurrent tool calls over streamable HTTP, every answer checked.

The server is `skillet serve --http 127.0.0.1:0` on a throwaway workspace whose one skill runs
`echo WORD` in the default sandbox. The client is the official Python SDK (the venv the tests
build, target/tmp/mcp-venv), one connection, all calls sent at once with asyncio; each call's
latency is measured from the client's send to its parsed answer, so it includes waiting for the
server's concurrency limit ([mcp] max_concurrent_calls, default 16) and the client's own
per-message cost, which dominates on 2 cores: the server finishes calls steadily while the
client is still sending, and the client reads most answers at the end. So the server's own
rate is also reported, from the history: calls / (last finish - first start).
Also measured: one call alone (no queue), over HTTP and over stdio, and the same load through
`skillet mcp` on stdio (its runs wait in the HTTP daemon's job queue, which they share); and the server's memory
(VmRSS from /proc) before and after N `initialize` requests sent raw, one after another, with no
DELETE: the session cap (--max-sessions, default 256) must keep it flat.

With --skill-ms N the skill first sleeps N ms (an I/O-bound skill, issue 24): `speedup` is then
200 calls one after another (the median single call, times 200) over the wall time of 200 sent
at once.

Usage: bench/mcp_load.py [--skillet target/release/skillet] [--calls 200] [--rounds 5]
       [--initializes 10000] [--sessions-only] [--skill-ms 0] [--json]
Build first: cargo build --release -p skillet-cli; run the MCP tests once to make the venv:
cargo test -p skillet-cli --test mcp_cli
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "crates/skillet-cli/tests/mcp/client.py"


def rss_kb(pid):
    """The resident set size of process `pid`, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def initialize_many(addr, token, count):
    """Sends `count` initialize requests over one keep-alive connection; how many were answered 200."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}})
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    ok = 0
    for _ in range(count):
        conn.request("POST", "/mcp", body, headers)
        response = conn.getresponse()
        response.read()
        ok += response.status == 200
    conn.close()
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--python", default=str(ROOT / "target/tmp/mcp-venv/bin/python"))
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--initializes", type=int, default=10000)
    parser.add_argument("--sessions-only", action="store_true", help="only the initialize/memory part")
    parser.add_argument("--skill-ms", type=int, default=0, help="the skill sleeps this long first")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    skillet = str(Path(args.skillet).resolve())
    for path, how in [(skillet, "cargo build --release -p skillet-cli"),
                      (args.python, "cargo test -p skillet-cli --test mcp_cli")]:
        if not Path(path).is_file():
            sys.exit(f"{path} not found; make it with `{how}`")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws, home, run = root / "ws", root / "home", root / "run"
        (ws / ".git").mkdir(parents=True)
        skills = ws / ".skillet" / "skills"
        skills.mkdir(parents=True)
        home.mkdir()
        run.mkdir(mode=0o700)
        run_as = ({"command": "sh", "args": ["-c", f'sleep {args.skill_ms / 1000}; echo "$SKILL_PARAM_WORD" "$SKILL_PARAM_TIMES"']}
                  if args.skill_ms else {"command": "echo", "args": ["{word}", "{times}"]})
        (skills / "echo.json").write_text(json.dumps({
            "name": "echo", "type": "code_inline", **run_as,
            "parameters": [{"name": "word", "type": "string", "required": True},
                           {"name": "times", "type": "integer", "default": 1}]}))
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_DATA_HOME": str(home / ".local/share"), "XDG_RUNTIME_DIR": str(run)}
        subprocess.run([skillet, "trust"], cwd=ws, env=env, check=True, capture_output=True)
        server = subprocess.Popen([skillet, "serve", "--http", "127.0.0.1:0"], cwd=ws, env=env,
                                  stderr=subprocess.PIPE, text=True)
        try:
            url, token = None, None
            for line in server.stderr:
                if "Authorization: Bearer " in line:
                    token = line.split("Authorization: Bearer ")[1].split("`")[0]
                if "serving MCP on " in line:
                    url = line.split("serving MCP on ")[1].split()[0]
                    break
            if not url:
                sys.exit("the server did not start")
            addr = url.removeprefix("http://").split("/")[0]

            rss_before = rss_kb(server.pid)
            started = time.perf_counter()
            initialized = initialize_many(addr, token, args.initializes)
            init_s = time.perf_counter() - started
            rss_after = rss_kb(server.pid)
            memory = {
                "initializes": args.initializes,
                "initializes_answered": initialized,
                "initialize_ms_mean": round(init_s * 1000 / max(1, args.initializes), 2),
                "rss_before_mb": round(rss_before / 1024, 1),
                "rss_after_mb": round(rss_after / 1024, 1),
            }
            if args.sessions_only:
                print(json.dumps(memory) if args.json else "\n".join(f"{k:26} {v}" for k, v in memory.items()))
                return

            def client(target, calls):
                extra = ["--token", token] if token and target.startswith("http") else []
                out = subprocess.run([args.python, str(CLIENT), "--target", target, "--ws", str(ws),
                                      "--calls", str(calls), *extra, "load"],
                                     cwd=ws, env=env, capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit(f"the load client failed:\n{out.stderr}")
                return json.loads(out.stdout.strip().splitlines()[-1])

            client(url, 16)  # warm up
            loads, spans = [], []
            for _ in range(args.rounds):
                loads.append(client(url, args.calls))
                history = json.loads(subprocess.run(
                    [skillet, "history", "--json", "--limit", str(args.calls)], cwd=ws, env=env,
                    capture_output=True, text=True, check=True).stdout)
                spans.append((max(r["finished_at_ms"] for r in history)
                              - min(r["started_at_ms"] for r in history)) / 1000)
            single_http = [client(url, 1)["p50_ms"] for _ in range(20)]
            single_stdio = [client(skillet, 1)["p50_ms"] for _ in range(10)]
            # The same load through `skillet mcp` on stdio, whose runs take their turns in the
            # queue of the daemon serving HTTP above (same XDG_RUNTIME_DIR).
            stdio_loads = [client(skillet, args.calls) for _ in range(max(1, args.rounds // 2))]
        finally:
            server.terminate()
            server.wait()

    result = {
        "calls_per_round": args.calls,
        "rounds": args.rounds,
        "all_answered": all(r["calls"] == args.calls for r in loads),
        "wall_s_median": statistics.median(r["wall_s"] for r in loads),
        "p50_ms_median": statistics.median(r["p50_ms"] for r in loads),
        "p99_ms_median": statistics.median(r["p99_ms"] for r in loads),
        "throughput_calls_per_s": round(args.calls / statistics.median(r["wall_s"] for r in loads), 1),
        "server_busy_s_median": statistics.median(spans),
        "server_calls_per_s": round(args.calls / statistics.median(spans), 1),
        "single_call_http_ms": statistics.median(single_http),
        "single_call_stdio_ms": statistics.median(single_stdio),
        "skill_ms": args.skill_ms,
        "speedup": round(statistics.median(single_http) * args.calls / 1000
                         / statistics.median(r["wall_s"] for r in loads), 1),
        "stdio_all_answered": all(r["calls"] == args.calls for r in stdio_loads),
        "stdio_wall_s_median": statistics.median(r["wall_s"] for r in stdio_loads),
        "stdio_speedup": round(statistics.median(single_stdio) * args.calls / 1000
                               / statistics.median(r["wall_s"] for r in stdio_loads), 1),
        **memory,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:26} {value}")


if __name__ == "__main__":
    main()
