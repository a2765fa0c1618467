#!/usr/bin/env python3
"""Measures the warm-pool target (issue 24): a pooled python skill's call latency at least 20x
lower than a cold start of the same skill.

One python3 skill, two ways, both sandboxed by skillet with the same default policy:

- pooled: a `code_session` skill with `session_config.pool`. Timed as one `pool.run` request on
  an open connection to the daemon's socket (the path an MCP server or agent holding a
  connection takes), and as the whole `skillet run py` command (process start, connection,
  the pooled call, the history write).
- cold: the same program as a `code_inline` skill, `python3 -c CODE`: `skillet run` starts a
  fresh sandboxed interpreter for every call, the whole process timed.

The input is `import json, decimal, fractions; print(json.dumps(1+1))`. No member serves two
calls (docs/sessions.md), so a pool saves the interpreter's start while its members are warm:
the socket calls are timed --gap-ms apart (an agent's pace), and again back to back, where
calls come faster than members start.
The target's ratio compares the two at the same pace, taking turns: a pooled call, --gap-ms
idle, a cold `skillet run`, --gap-ms idle, and so on, so both see the machine in the same state
(a machine idle between calls runs each from cold caches, which slows the pooled call several
times over and the cold start less; and this VM's speed drifts by a quarter over minutes,
which timing one line after the other would put into the ratio). The cold start is also timed
back to back, and both ratios are printed. Every call is checked to print `2`. Medians (p90)
over --runs samples.

The binary timed is an installed copy of the one named, as `cargo install` leaves them;
`--as-built` times the file itself (see `installed_copy` in cli_bench.py: right after a
build, the linker's file starts slower).

Usage: bench/pool_bench.py [--skillet target/release/skillet] [--runs 200] [--json] [--as-built]
Build first: cargo build --release -p skillet-cli
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

from cli_bench import installed_copy, median_ms, summary  # this script's directory is on sys.path

CODE = "import json, decimal, fractions; print(json.dumps(1+1))"
PRELOAD = "import json, decimal, fractions"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--python", default=shutil.which("python3", path="/usr/bin:/usr/local/bin") or "python3")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=100,
                        help="pause between timed pooled calls (an agent's calls come spaced; every "
                             "member serves one call, and the pool starts its replacement meanwhile)")
    parser.add_argument("--no-preload", action="store_true",
                        help="leave out the pooled skill's `preload` (its imports are then paid by every call)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--as-built", action="store_true",
                        help="time the binary where the build left it, not an installed copy "
                             "(right after a build, that file starts slower; see installed_copy)")
    args = parser.parse_args()
    skillet = str(Path(args.skillet).resolve())
    if not Path(skillet).is_file():
        sys.exit(f"{skillet} not found; build it with `cargo build --release -p skillet-cli`")

    with tempfile.TemporaryDirectory() as tmp:
        if not args.as_built:
            skillet = installed_copy(skillet, tmp)
        root = Path(tmp)
        ws, home = root / "ws", root / "home"
        (ws / ".git").mkdir(parents=True)
        skills = ws / ".skillet" / "skills"
        skills.mkdir(parents=True)
        home.mkdir()
        (root / "run").mkdir(mode=0o700)
        pool = {"min_idle": 2, "max": 4}
        if not args.no_preload:
            # The skill's own imports, run by each member before it is offered.
            pool["preload"] = PRELOAD
        (skills / "py.json").write_text(json.dumps(
            {"name": "py", "description": "pooled python", "type": "code_session", "command": args.python,
             "session_config": {"pool": pool}}))
        (skills / "cold.json").write_text(json.dumps(
            {"name": "cold", "description": "cold python", "type": "code_inline", "command": args.python,
             "args": ["-c", CODE]}))
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "XDG_RUNTIME_DIR": str(root / "run")}
        try:
            first = subprocess.run([skillet, "run", "py", "--stdin", CODE], env=env, cwd=ws,
                                   capture_output=True, text=True)
            if first.stdout != "2\n":
                sys.exit(f"the pooled skill does not answer 2: {first.stdout!r} {first.stderr!r}")
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(str(root / "run" / "skillet" / "skillet.sock"))
            reader = sock.makefile("rb")

            def call(n):
                sock.sendall(json.dumps({"id": n, "method": "pool.run", "params": {
                    "skill": "py", "stdin": CODE, "caller_dir": str(ws)}}).encode() + b"\n")
                reply = json.loads(reader.readline())
                if reply.get("result", {}).get("execution", {}).get("stdout") != "2\n":
                    sys.exit(f"unexpected answer: {reply}")

            def timed(runs, gap_s):
                times = []
                for n in range(runs):
                    time.sleep(gap_s)
                    start = time.perf_counter()
                    call(n)
                    times.append((time.perf_counter() - start) * 1000)
                return summary(times)

            cold_cmd = [skillet, "run", "cold"]

            def cold_run():
                start = time.perf_counter()
                proc = subprocess.run(cold_cmd, cwd=ws, env=env, capture_output=True, text=True)
                if proc.stdout != "2\n":
                    sys.exit(f"the cold skill does not answer 2: {proc.stdout!r} {proc.stderr!r}")
                return (time.perf_counter() - start) * 1000

            def taking_turns(runs, gap_s):
                pooled, cold = [], []
                for n in range(runs):
                    time.sleep(gap_s)
                    start = time.perf_counter()
                    call(n)
                    pooled.append((time.perf_counter() - start) * 1000)
                    time.sleep(gap_s)
                    cold.append(cold_run())
                return summary(pooled), summary(cold)

            timed(20, args.gap_ms / 1000)
            taking_turns(5, args.gap_ms / 1000)
            # The target's pair: the same pace, the same minutes (see the module's doc).
            warm, cold_paced = taking_turns(args.runs, args.gap_ms / 1000)
            # Back to back: faster than members start, so calls wait for one.
            burst = timed(max(args.runs // 4, 10), 0)
            warm_cli = median_ms([skillet, "run", "py", "--stdin", CODE], args.runs, ws, env)
            cold = median_ms(cold_cmd, args.runs, ws, env)
            status = json.loads(subprocess.run([skillet, "daemon", "status", "--json"], env=env, cwd=ws,
                                               capture_output=True, text=True).stdout)
            pool = next(p for p in status["daemon"].get("pools", []) if p["skill"] == "py")
        finally:
            subprocess.run([skillet, "daemon", "stop"], env=env, cwd=ws, capture_output=True)

    result = {
        "pooled_socket_ms": {"median": warm[0], "p90": warm[1]},
        "gap_ms": args.gap_ms,
        "pooled_socket_back_to_back_ms": {"median": burst[0], "p90": burst[1]},
        "pooled_cli_ms": {"median": warm_cli[0], "p90": warm_cli[1]},
        "cold_skillet_run_ms": {"median": cold[0], "p90": cold[1]},
        "cold_skillet_run_paced_ms": {"median": cold_paced[0], "p90": cold_paced[1]},
        "ratio_cold_over_pooled_socket": cold[0] / warm[0],
        "ratio_paced_cold_over_pooled_socket": cold_paced[0] / warm[0],
        "ratio_cold_over_pooled_cli": cold[0] / warm_cli[0],
        "pool_members_started": pool["recycled"] + len(pool["pids"]),
        "target_ratio": 20,
        "preload": not args.no_preload,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    preload = "no preload" if args.no_preload else f"preload {PRELOAD!r}"
    print(f"python: {args.python}, {preload}, {args.runs} runs each, medians (p90)")
    print(f"  pooled, one pool.run request on the daemon socket, {args.gap_ms:g} ms apart: {warm[0]:8.3f} ms ({warm[1]:.3f})")
    print(f"  cold, whole `skillet run cold`, taking turns with it:  {cold_paced[0]:8.3f} ms ({cold_paced[1]:.3f})")
    print(f"  pooled, the same, back to back:                   {burst[0]:8.3f} ms ({burst[1]:.3f})")
    print(f"  pooled, whole `skillet run py` command:            {warm_cli[0]:8.3f} ms ({warm_cli[1]:.3f})")
    print(f"  cold, whole `skillet run cold`, back to back:       {cold[0]:8.3f} ms ({cold[1]:.3f})")
    paced = result["ratio_paced_cold_over_pooled_socket"]
    verdict = "met" if paced >= 20 else "MISSED"
    print(f"  cold / pooled (socket), taking turns {args.gap_ms:g} ms apart: {paced:.2f}x  (target >= 20x: {verdict})")
    print(f"  cold back to back / pooled (socket): {result['ratio_cold_over_pooled_socket']:.1f}x")
    print(f"  cold / pooled (CLI):    {result['ratio_cold_over_pooled_cli']:.1f}x")


if __name__ == "__main__":
    main()
