#!/usr/bin/env python3
"""Pooled calls of two skillet builds, taking turns: the A/B beside bench/pool_bench.py.

Each build gets a throwaway workspace, home and daemon of its own (an older build refuses a
newer store schema), with the pooled python skill of bench/pool_bench.py (`min_idle` 2, `max` 4,
`preload` of its imports). Then one `pool.run` request is sent on each daemon's socket in turn,
--gap-ms apart (the order alternates every round), so both builds see the same minutes of a
shared machine's load. Every call is checked to print `2`. Prints the median and p90 of each
build and the ratio.

Usage: bench/pool_ab.py --baseline OLD/skillet [--skillet target/release/skillet] [--runs 150]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli_bench import summary  # this script's directory is on sys.path

CODE = "import json, decimal, fractions; print(json.dumps(1+1))"
PRELOAD = "import json, decimal, fractions"


class Daemon:
    """One build's workspace, daemon and open socket."""

    def __init__(self, skillet, python, root):
        self.skillet = skillet
        self.ws, home = root / "ws", root / "home"
        skills = self.ws / ".skillet" / "skills"
        skills.mkdir(parents=True)
        (self.ws / ".git").mkdir()
        home.mkdir()
        (root / "run").mkdir(mode=0o700)
        pool = {"min_idle": 2, "max": 4, "preload": PRELOAD}
        (skills / "py.json").write_text(json.dumps(
            {"name": "py", "description": "pooled python", "type": "code_session", "command": python,
             "session_config": {"pool": pool}}))
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home),
                    "XDG_RUNTIME_DIR": str(root / "run")}
        # The first call starts the daemon and its pool.
        first = subprocess.run([skillet, "run", "py", "--stdin", CODE], env=self.env, cwd=self.ws,
                               capture_output=True, text=True)
        if first.stdout != "2\n":
            sys.exit(f"{skillet}: the pooled skill does not answer 2: {first.stdout!r} {first.stderr!r}")
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(root / "run" / "skillet" / "skillet.sock"))
        self.reader = self.sock.makefile("rb")
        self.calls = 0
        self.times = []

    def call(self):
        self.calls += 1
        start = time.perf_counter()
        self.sock.sendall(json.dumps({"id": self.calls, "method": "pool.run", "params": {
            "skill": "py", "stdin": CODE, "caller_dir": str(self.ws)}}).encode() + b"\n")
        reply = json.loads(self.reader.readline())
        took = (time.perf_counter() - start) * 1000
        if reply.get("result", {}).get("execution", {}).get("stdout") != "2\n":
            sys.exit(f"{self.skillet}: unexpected answer: {reply}")
        return took

    def stop(self):
        subprocess.run([self.skillet, "daemon", "stop"], env=self.env, cwd=self.ws, capture_output=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--baseline", required=True, help="the other build's skillet binary")
    parser.add_argument("--python", default=shutil.which("python3", path="/usr/bin:/usr/local/bin") or "python3")
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument("--gap-ms", type=float, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    builds = [str(Path(b).resolve()) for b in (args.baseline, args.skillet)]
    for b in builds:
        if not Path(b).is_file():
            sys.exit(f"{b} not found; build it with `cargo build --release -p skillet-cli`")
    with tempfile.TemporaryDirectory() as tmp:
        daemons = []
        try:
            for i, b in enumerate(builds):
                daemons.append(Daemon(b, args.python, Path(tmp) / str(i)))
            time.sleep(1)  # the pools fill
            warmup = 20
            for n in range(args.runs + warmup):
                for d in daemons if n % 2 == 0 else daemons[::-1]:
                    time.sleep(args.gap_ms / 1000)
                    took = d.call()
                    if n >= warmup:
                        d.times.append(took)
        finally:
            for d in daemons:
                d.stop()
    (base, new) = (summary(d.times) for d in daemons)
    result = {"baseline_ms": {"median": base[0], "p90": base[1]},
              "skillet_ms": {"median": new[0], "p90": new[1]},
              "ratio_baseline_over_skillet": base[0] / new[0], "gap_ms": args.gap_ms, "runs": args.runs}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"pool.run on the daemon socket, {args.gap_ms:g} ms apart, builds taking turns, {args.runs} calls each:")
    print(f"  baseline {builds[0]}: {base[0]:.3f} ms (p90 {base[1]:.3f})")
    print(f"  skillet  {builds[1]}: {new[0]:.3f} ms (p90 {new[1]:.3f})")
    print(f"  baseline / skillet: {result['ratio_baseline_over_skillet']:.2f}x")


if __name__ == "__main__":
    main()
