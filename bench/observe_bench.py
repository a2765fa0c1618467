#!/usr/bin/env python3
"""Times what reads the whole history window: `skillet stats`, `skillet health`, a `/metrics`
scrape of `skillet serve --http` and the dashboard's `/api/overview`, as whole processes and HTTP requests, over
histories of 10,000, 100,000 and 1,000,000 executions (written the way months of use leave them;
see history_bench.py, whose world and filler this reuses).

Usage: bench/observe_bench.py [--skillet target/release/skillet] [--rows 10000,100000,1000000]
                              [--runs 10] [--json]
Build first: cargo build --release -p skillet-cli
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history_bench import SKILLS, fill, timed, world  # noqa: E402


def timed_health(skillet: str, ws: Path, env: dict, runs: int) -> tuple[float, float]:
    """As history_bench.timed, for `skillet health`, whose exit 1 (a failing skill: the filled
    history has one) is an answer, not an error."""
    samples = []
    for n in range(runs + 1):
        start = time.perf_counter()
        proc = subprocess.run([skillet, "health"], cwd=ws, env=env, capture_output=True, check=False)
        if proc.returncode not in (0, 1):
            sys.exit(f"skillet health failed: {proc.stderr.decode()[:500]}")
        if n > 0:
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[max(int(len(samples) * 0.9) - 1, 0)]


def scrape(base: str, token: str, runs: int, path: str = "/metrics") -> tuple[float, float, int]:
    """Median and p90 wall time of GET `path` (ms), and the body's size in bytes."""
    samples, size = [], 0
    for n in range(runs + 2):
        request = urllib.request.Request(base + path)
        request.add_header("Authorization", f"Bearer {token}")
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as answer:
            size = len(answer.read())
        if n >= 2:
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[max(int(len(samples) * 0.9) - 1, 0)], size


def serve(skillet: str, ws: Path, env: dict) -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen([skillet, "serve", "--http", "127.0.0.1:0"], cwd=ws, env=env,
                            stderr=subprocess.PIPE, text=True)
    token = base = None
    for line in proc.stderr:
        if "Authorization: Bearer " in line:
            token = line.split("Authorization: Bearer ")[1].split("`")[0]
        if "serving MCP on " in line:
            base = line.split("serving MCP on ")[1].split(" ")[0].removesuffix("/mcp")
        if token and base:
            return proc, base, token
    sys.exit("the server never said where it serves")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--rows", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    skillet = str(Path(args.skillet).resolve())
    results = []
    for rows in [int(r) for r in args.rows.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            ws, env = world(Path(tmp))
            subprocess.run([skillet, "history"], cwd=ws, env=env, capture_output=True, check=True)
            fill(Path(env["XDG_DATA_HOME"]) / "skillet" / "skillet.db", rows)
            row = {"rows": rows}
            for name, cmd in {
                "stats": ["stats"],
                "stats --since 24h": ["stats", "--since", "24h"],
                "stats SKILL": ["stats", SKILLS[3]],
            }.items():
                median, p90 = timed([skillet, *cmd], ws, env, args.runs, warmup=1)
                row[name] = {"median_ms": round(median, 1), "p90_ms": round(p90, 1)}
            median, p90 = timed_health(skillet, ws, env, args.runs)
            row["health"] = {"median_ms": round(median, 1), "p90_ms": round(p90, 1)}
            proc, base, token = serve(skillet, ws, env)
            try:
                median, p90, size = scrape(base, token, args.runs)
                row["GET /metrics"] = {"median_ms": round(median, 1), "p90_ms": round(p90, 1), "bytes": size}
                # What the dashboard polls every 2 s (the default 24-hour window).
                median, p90, size = scrape(base, token, args.runs, "/api/overview")
                row["GET /api/overview"] = {"median_ms": round(median, 1), "p90_ms": round(p90, 1), "bytes": size}
            finally:
                proc.terminate()
                proc.wait()
            results.append(row)
            if not args.json:
                print(json.dumps(row))
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
