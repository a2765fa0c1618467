#!/usr/bin/env python3
"""Reload latency of `skillet dev`: a save to the new version's output, as a user sees it.

Starts `skillet dev greet --param who=bench --json` on a throwaway workspace (its own HOME and
XDG directories, nothing of the machine's) whose skill runs `echo vN {who}` in the default
sandbox, then N times: rewrites the skill file with the next version (as an editor does: a new
file renamed over the old one, or with --in-place a plain rewrite) and times from just before
the write to the moment the JSON line reporting `vN bench` is read from skillet's stdout. That
is everything a user waits for: the kernel's file event, the debounce, re-reading and
validating the skills, the sandboxed run, the diff and the report. Also printed: what skillet
itself says it spent (`reload_ms`, from the first file event to the report) and the run's own
`duration_ms`.

Usage: bench/dev_reload.py [--skillet target/release/skillet] [--samples 60] [--in-place] [--json]
Build first: cargo build --release -p skillet-cli
"""

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def skill(version):
    return json.dumps({"name": "greet", "description": "Greets", "type": "code_inline",
                       "command": "echo", "args": [version, "{who}"],
                       "parameters": [{"name": "who", "type": "string", "required": True}]}, indent=2)


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--skillet", default=str(ROOT / "target/release/skillet"))
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--in-place", action="store_true", help="rewrite the file instead of renaming a new one over it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.skillet = str(Path(args.skillet).resolve())

    tmp = Path(tempfile.mkdtemp(prefix="dev-reload-"))
    home, ws = tmp / "home", tmp / "ws"
    (ws / ".git").mkdir(parents=True)
    (ws / ".skillet/skills").mkdir(parents=True)
    home.mkdir()
    run_dir = tmp / "run"
    run_dir.mkdir(mode=0o700)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_RUNTIME_DIR": str(run_dir)}
    # As root the isolated view is an overlay; this compares it with the copy.
    if os.environ.get("SKILLET_ISOLATE_FORCE_COPY"):
        env["SKILLET_ISOLATE_FORCE_COPY"] = os.environ["SKILLET_ISOLATE_FORCE_COPY"]
    path = ws / ".skillet/skills/greet.json"
    path.write_text(skill("v0"))

    proc = subprocess.Popen([args.skillet, "dev", "greet", "--param", "who=bench", "--json"], cwd=ws, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines = queue.Queue()

    def reader():
        for line in proc.stdout:
            lines.put((time.perf_counter(), line))

    threading.Thread(target=reader, daemon=True).start()

    def wait_for(expected, limit=20.0):
        deadline = time.perf_counter() + limit
        while True:
            at, line = lines.get(timeout=max(0.0, deadline - time.perf_counter()))
            report = json.loads(line)
            if (report.get("run") or {}).get("stdout") == expected:
                return at, report

    wait_for("v0 bench\n")
    latencies, reported, runs = [], [], []
    try:
        for n in range(1, args.samples + 1):
            time.sleep(0.15)  # a person does not save twice in 15 ms: each sample stands alone
            text = skill(f"v{n}")
            start = time.perf_counter()
            if args.in_place:
                path.write_text(text)
            else:
                new = path.with_suffix(".json.tmp")
                new.write_text(text)
                os.rename(new, path)
            at, report = wait_for(f"v{n} bench\n")
            latencies.append((at - start) * 1000)
            reported.append(report["reload_ms"])
            runs.append(report["run"]["duration_ms"])
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)

    summary = {
        "samples": len(latencies),
        "save_to_output_ms": {"median": round(statistics.median(latencies), 1),
                              "p90": round(quantile(latencies, 0.9), 1),
                              "min": round(min(latencies), 1), "max": round(max(latencies), 1)},
        "skillet_reload_ms": {"median": statistics.median(reported), "p90": quantile(reported, 0.9)},
        "run_ms": {"median": statistics.median(runs), "p90": quantile(runs, 0.9)},
        "save": "in place" if args.in_place else "rename over",
        "skillet": args.skillet,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        s = summary["save_to_output_ms"]
        print(f"{summary['samples']} saves ({summary['save']}): save -> new output median {s['median']} ms, "
              f"p90 {s['p90']} ms (min {s['min']}, max {s['max']}); skillet's own reload_ms median "
              f"{summary['skillet_reload_ms']['median']}, the run itself median {summary['run_ms']['median']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
