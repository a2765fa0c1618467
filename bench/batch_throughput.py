#!/usr/bin/env python3
"""Throughput of `skillet batch` against calling the same skill one process at a time.

Target (issue 24): 200 calls of an I/O-bound skill (it sleeps 200 ms) through `batch` run at
least 10x faster than the same calls made one after another, with the sandbox on.

Measured as a user's shell sees it: whole processes, timed from outside. "Sequential" is a loop
of `skillet run nap` processes (what an agent calling the command line does today); it is timed
over --sequential calls (default 30) and scaled to the batch's size, since its cost per call is
flat. The batch runs once per --jobs value. Every call of every batch must end `ok`; the history
must then hold one execution per call.

The batch runs once with the default bound and once per --jobs value. Each call takes a turn
in the daemon's job queue first (started by the first batch), so `[jobs] max_running` (default
eight per core) bounds every batch, whatever its --jobs.

Usage: bench/batch_throughput.py [--skillet target/release/skillet] [--calls 200]
       [--jobs 16,32,64] [--sequential 30] [--json]
Build first: cargo build --release -p skillet-cli
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def world(root: Path) -> dict:
    home, ws = root / "home", root / "ws"
    (ws / ".git").mkdir(parents=True)
    (ws / ".skillet/skills").mkdir(parents=True)
    home.mkdir()
    run_dir = root / "run"
    run_dir.mkdir(mode=0o700)
    spec = {"name": "nap", "description": "Wait 200 ms, as a call to a slow service would",
            "type": "code_inline", "command": "sleep", "args": ["0.2"], "timeout": 30}
    (ws / ".skillet/skills/nap.json").write_text(json.dumps(spec))
    env = {"PATH": os.environ["PATH"], "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_RUNTIME_DIR": str(run_dir)}
    return {"ws": ws, "env": env}


def skillet(w: dict, exe: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([exe, *args], cwd=w["ws"], env=w["env"], input=stdin,
                          capture_output=True, text=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skillet", default="target/release/skillet")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--jobs", default="16,32,64")
    ap.add_argument("--sequential", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    exe = str(Path(a.skillet).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        w = world(Path(tmp))
        if skillet(w, exe, "trust").returncode != 0:
            print("skillet trust failed", file=sys.stderr)
            return 1
        # One call first, so no measurement pays the first-run setup alone.
        skillet(w, exe, "run", "nap")
        start = time.perf_counter()
        for _ in range(a.sequential):
            r = skillet(w, exe, "run", "nap")
            if r.returncode != 0:
                print(f"skillet run nap failed: {r.stderr}", file=sys.stderr)
                return 1
        per_call = (time.perf_counter() - start) / a.sequential
        sequential = per_call * a.calls
        calls = "".join('{"skill": "nap"}\n' for _ in range(a.calls))
        rows = []
        # `None`: the default bound (eight per core).
        for jobs in [None] + [int(j) for j in a.jobs.split(",")]:
            bound = [] if jobs is None else ["--jobs", str(jobs)]
            start = time.perf_counter()
            r = skillet(w, exe, "batch", "-", *bound, "--json", stdin=calls)
            took = time.perf_counter() - start
            results = [json.loads(line) for line in r.stdout.splitlines()]
            ok = sum(1 for x in results if x["status"] == "ok")
            if ok != a.calls:
                print(f"--jobs {jobs}: {ok}/{a.calls} ok\n{r.stderr}", file=sys.stderr)
                return 1
            rows.append({"jobs": jobs or "default", "seconds": round(took, 2),
                         "speedup": round(sequential / took, 1)})
        # The batches took their turns in the daemon's job queue, which they started.
        skillet(w, exe, "daemon", "stop")
        history = skillet(w, exe, "history", "nap", "--json", "--limit", "0")
        recorded = len(json.loads(history.stdout))
        expected = 1 + a.sequential + a.calls * len(rows)
        if recorded != expected:
            print(f"history holds {recorded} executions, expected {expected}", file=sys.stderr)
            return 1
    report = {"calls": a.calls, "sequential_per_call_ms": round(per_call * 1000, 1),
              "sequential_seconds": round(sequential, 1), "batches": rows,
              "cores": os.cpu_count()}
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{a.calls} calls of a 200 ms skill, sandboxed, on {os.cpu_count()} cores")
        print(f"  one `skillet run` at a time: {per_call * 1000:.1f} ms a call, "
              f"{sequential:.1f} s for {a.calls}")
        for row in rows:
            print(f"  skillet batch --jobs {row['jobs']:>7}: {row['seconds']:6.2f} s  "
                  f"({row['speedup']}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
