#!/usr/bin/env python3
"""The PostgreSQL store against the SQLite one (issue 26), measured from outside.

1. Added latency per call: whole `skillet run echo` processes, as a shell starts them, on a
   machine whose store is the SQLite file and on one whose `[store] url` is a PostgreSQL database
   (on this machine, over loopback TCP: the figure is the store's own cost, not a network's).
   The two take turns, round by round; median and p90 of each, and the difference.
2. Throughput of MCP tool calls of a cheap skill (`echo`, sandboxed) through `skillet serve
   --http`: one replica on SQLite, one on PostgreSQL, and three replicas on one PostgreSQL
   database, each replica driven by its own client (the official Python SDK, every call sent at
   once). The rate is the servers' own, read from the shared history: calls / (last finish -
   first start). Every call must be in the history once.

The database is a throwaway cluster started with `.ci/postgres-cluster` (Debian's postgresql),
or the one --url names (its database is used as it is: give an empty one).

Usage: bench/store_replicas.py [--skillet target/release/skillet] [--rounds 30] [--calls 300]
       [--url postgres://…] [--json]
Build first: cargo build --release -p skillet-cli; run the MCP tests once to make the venv:
cargo test -p skillet-cli --test mcp_cli
"""

import argparse
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
CLUSTER = ROOT / ".ci/postgres-cluster"


def machine(root, name, ws, url=None):
    """A home of its own (configuration, data, runtime directory); `url` sets [store]."""
    home = root / name
    (home / ".config/skillet").mkdir(parents=True)
    run = home / "run"
    run.mkdir(mode=0o700)
    if url:
        (home / ".config/skillet/skillet.toml").write_text(f'[store]\nurl = "{url}"\n')
    return {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local/share"), "XDG_RUNTIME_DIR": str(run)}


def timed_run(skillet, ws, env):
    started = time.perf_counter()
    out = subprocess.run([skillet, "run", "echo", "--param", "word=x"], cwd=ws, env=env,
                         capture_output=True, text=True)
    elapsed = (time.perf_counter() - started) * 1000
    if out.returncode != 0 or out.stdout != "x 1\n" or "not recorded" in out.stderr:
        sys.exit(f"a run failed or was not recorded: {out.stdout}{out.stderr}")
    return elapsed


def summary(samples):
    samples = sorted(samples)
    return {"median_ms": round(statistics.median(samples), 2),
            "p90_ms": round(samples[int(len(samples) * 0.9) - 1], 2)}


def serve(skillet, ws, env, token_file):
    server = subprocess.Popen([skillet, "serve", "--http", "127.0.0.1:0", "--auth-token-file", str(token_file)],
                              cwd=ws, env=env, stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        if "serving MCP on " in line:
            return server, line.split("serving MCP on ")[1].split()[0]
    sys.exit("a server did not start")


def throughput(args, skillet, root, ws, token_file, token, urls, label):
    """`calls` tool calls spread over one replica per entry of `urls` (None: SQLite)."""
    envs = [machine(root, f"{label}-{i}", ws, url) for i, url in enumerate(urls)]
    for env in envs:
        subprocess.run([skillet, "trust"], cwd=ws, env=env, check=True, capture_output=True)
    servers = [serve(skillet, ws, env, token_file) for env in envs]
    try:
        share = args.calls // len(servers)
        clients = [subprocess.Popen([args.python, str(CLIENT), "--target", url, "--ws", str(ws),
                                     "--calls", str(share), "--token", token, "load"],
                                    cwd=ws, env=envs[0], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for _, url in servers]
        reports = []
        for c in clients:
            out, err = c.communicate()
            if c.returncode != 0:
                sys.exit(f"a load client failed:\n{err}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for server, _ in servers:
            server.terminate()
            server.wait()
    # The servers' own rate, from the history they share (or the one SQLite file).
    history = subprocess.run([skillet, "history", "echo", "--json", "--limit", "0"], cwd=ws, env=envs[0],
                             capture_output=True, text=True, check=True)
    rows = [r for r in json.loads(history.stdout) if r.get("origin") == "mcp"]
    calls = share * len(servers)
    if len(rows) != calls or len({r["id"] for r in rows}) != calls:
        sys.exit(f"{label}: {calls} calls made, {len(rows)} in the history")
    span_s = (max(r["finished_at_ms"] for r in rows) - min(r["started_at_ms"] for r in rows)) / 1000
    return {"replicas": len(servers), "calls": calls,
            "server_calls_per_s": round(calls / span_s, 1),
            "client_p50_ms": round(statistics.median(r["p50_ms"] for r in reports), 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--python", default=str(ROOT / "target/tmp/mcp-venv/bin/python"))
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--url", help="a PostgreSQL database to use instead of a throwaway cluster")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    skillet = str(Path(args.skillet).resolve())
    for path, how in [(skillet, "cargo build --release -p skillet-cli"),
                      (args.python, "cargo test -p skillet-cli --test mcp_cli")]:
        if not Path(path).is_file():
            sys.exit(f"{path} not found; make it with `{how}`")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        cluster = root / "pg"
        base = args.url or subprocess.run([str(CLUSTER), "start", str(cluster)], check=True,
                                          capture_output=True, text=True).stdout.strip()
        try:
            ws = root / "ws"
            (ws / ".git").mkdir(parents=True)
            (ws / ".skillet/skills").mkdir(parents=True)
            (ws / ".skillet/skills/echo.json").write_text(json.dumps({
                "name": "echo", "description": "d", "type": "code_inline", "command": "echo",
                "args": ["{word}", "{times}"],
                "parameters": [{"name": "word", "type": "string", "required": True},
                               {"name": "times", "type": "integer", "default": 1}]}))
            # One schema per part, so each starts empty.
            schemas = {}
            for part in ["latency", "one", "three"]:
                subprocess.run(["psql", base, "-qc", f"CREATE SCHEMA IF NOT EXISTS bench_{part}"], check=True)
                sep = "&" if "?" in base else "?"
                schemas[part] = f"{base}{sep}options=-c%20search_path%3Dbench_{part}"

            sqlite_env = machine(root, "latency-sqlite", ws)
            pg_env = machine(root, "latency-pg", ws, schemas["latency"])
            for env in (sqlite_env, pg_env):
                subprocess.run([skillet, "trust"], cwd=ws, env=env, check=True, capture_output=True)
                for _ in range(3):
                    timed_run(skillet, ws, env)  # warm: schema made, caches filled
            on_sqlite, on_pg = [], []
            for _ in range(args.rounds):
                on_sqlite.append(timed_run(skillet, ws, sqlite_env))
                on_pg.append(timed_run(skillet, ws, pg_env))
            latency = {"sqlite": summary(on_sqlite), "postgres": summary(on_pg)}
            latency["added_median_ms"] = round(latency["postgres"]["median_ms"] - latency["sqlite"]["median_ms"], 2)

            token = "bench-token-" + os.urandom(8).hex()
            token_file = root / "token"
            token_file.write_text(token)
            rates = [
                {"store": "sqlite", **throughput(args, skillet, root, ws, token_file, token, [None], "t-sqlite")},
                {"store": "postgres", **throughput(args, skillet, root, ws, token_file, token, [schemas["one"]], "t-pg1")},
                {"store": "postgres", **throughput(args, skillet, root, ws, token_file, token, [schemas["three"]] * 3, "t-pg3")},
            ]
        finally:
            if not args.url:
                subprocess.run([str(CLUSTER), "stop", str(cluster)], capture_output=True)
    result = {"run_latency": latency, "throughput": rates, "cores": os.cpu_count()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"skillet run echo, whole processes, {args.rounds} rounds taking turns:")
    for store in ("sqlite", "postgres"):
        print(f"  {store:9} median {latency[store]['median_ms']:7} ms   p90 {latency[store]['p90_ms']:7} ms")
    print(f"  PostgreSQL adds {latency['added_median_ms']} ms per run (median, loopback)")
    print(f"MCP calls over HTTP, {args.calls} in all, every call sent at once:")
    for r in rates:
        print(f"  {r['replicas']} replica(s) on {r['store']:9} {r['server_calls_per_s']:8} calls/s"
              f"   client p50 {r['client_p50_ms']} ms")


if __name__ == "__main__":
    main()
