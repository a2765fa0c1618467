#!/usr/bin/env python3
"""Measures the two speed targets of the CLI, with real processes on this machine.

1. `skillet list` over 1,000 skill files, warm (files in the page cache): target < 100 ms.
2. `skillet run` of a code_inline skill that runs /bin/true, against spawning /bin/true directly
   from the same harness: target < 5 ms added. Measured twice: the runner alone
   (`--allow-unsandboxed`: start-up, discovery, parameters, supervision), and with the full
   sandbox (whose own cost `cargo bench -p skillet-sandbox --bench spawn` breaks down).

The binary timed is an installed copy of the one named, as `cargo install` leaves them;
`--as-built` times the file itself (see `installed_copy`: right after a
build, the linker's file starts slower).

Usage: bench/cli_bench.py [--skillet target/release/skillet] [--runs 200] [--json] [--as-built]
Build first: cargo build --release -p skillet-cli
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_ms(cmd, runs, cwd, env, warmup=10, gap_s=0.0):
    """Median and p90 wall time of running `cmd` to completion, in milliseconds; `gap_s` idle
    seconds before each timed run (an agent's pace rather than back to back)."""
    for _ in range(warmup):
        subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    samples = []
    for _ in range(runs):
        time.sleep(gap_s)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append((time.perf_counter() - start) * 1000)
        if proc.returncode != 0:
            sys.exit(f"{cmd} failed with exit code {proc.returncode}")
    return summary(samples)


def installed_copy(binary, directory):
    """A copy of `binary` in `directory`, made as `cargo install` makes one, for a benchmark to
    time instead of the file the linker wrote. The kernel caches a freshly linked binary in a
    form that costs every process started from it ~0.9 ms more on this VM, until its pages are
    evicted and read back. An installed copy does not have that cost, and it is what users run
    (docs/performance.md, "A freshly linked binary starts slower")."""
    copy = Path(directory) / "installed" / Path(binary).name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(binary, copy)
    return str(copy)


def summary(samples):
    """Median and 90th percentile of `samples`."""
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def make_world(root: Path, skills: int) -> tuple[Path, dict]:
    home = root / "home"
    ws = root / "ws"
    (ws / ".git").mkdir(parents=True)
    skills_dir = ws / ".skillet" / "skills"
    skills_dir.mkdir(parents=True)
    home.mkdir()
    for i in range(skills):
        name = f"skill-{i:04d}"
        if i % 10 == 0:
            # Every tenth is a package folder with parameters of every type.
            d = skills_dir / name
            d.mkdir()
            path = d / "skill.json"
        else:
            path = skills_dir / f"{name}.json"
        spec = {
            "name": name,
            "description": f"Benchmark skill number {i}",
            "version": "1.0.0",
            "aliases": [f"s{i}"],
            "type": "code_inline" if i % 3 else "prompt_inline",
            "parameters": [
                {"name": "file", "type": "path", "required": True, "description": "A file"},
                {"name": "count", "type": "integer", "default": 3, "min": 1, "max": 100},
                {"name": "mode", "type": "enum", "values": ["fast", "slow"], "default": "fast"},
                {"name": "pattern", "type": "string", "pattern": "[a-z]+"},
            ],
        }
        if i % 3:
            spec.update({"command": "wc", "args": ["-l", "{file}"], "env": {"LC_ALL": "C"}, "timeout": 10})
        else:
            spec["prompt_template"] = "Summarise {file} in {count} points, {mode} mode, matching {pattern}."
        path.write_text(json.dumps(spec, indent=2))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
    }
    return ws, env


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--as-built", action="store_true",
                        help="time the binary where the build left it, not an installed copy "
                             "(right after a build, that file starts slower; see installed_copy)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    skillet = str(Path(args.skillet).resolve())
    true_bin = "/bin/true"

    with tempfile.TemporaryDirectory() as tmp:
        if not args.as_built:
            skillet = installed_copy(skillet, tmp)
        ws, env = make_world(Path(tmp) / "big", 1000)
        listed = subprocess.run([skillet, "list", "--json"], cwd=ws, env=env, capture_output=True, check=True)
        count = len(json.loads(listed.stdout))
        assert count == 1000, f"expected 1000 skills, listed {count}"
        list_med, list_p90 = median_ms([skillet, "list"], args.runs, ws, env)

        small, env_small = make_world(Path(tmp) / "small", 10)
        (small / ".skillet" / "skills" / "noop.json").write_text(json.dumps(
            {"name": "noop", "description": "runs /bin/true", "type": "code_inline", "command": true_bin}))
        direct_med, direct_p90 = median_ms([true_bin], args.runs, small, env_small)
        run_med, run_p90 = median_ms([skillet, "run", "noop"], args.runs, small, env_small)
        bare_med, bare_p90 = median_ms([skillet, "run", "noop", "--allow-unsandboxed"], args.runs, small, env_small)

    result = {
        "list_1000_median_ms": round(list_med, 2),
        "list_1000_p90_ms": round(list_p90, 2),
        "true_direct_median_ms": round(direct_med, 2),
        "skillet_run_true_median_ms": round(run_med, 2),
        "run_overhead_median_ms": round(run_med - direct_med, 2),
        "run_p90_ms": round(run_p90, 2),
        "skillet_run_unsandboxed_median_ms": round(bare_med, 2),
        "runner_overhead_median_ms": round(bare_med - direct_med, 2),
        "runs": args.runs,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"skillet list, 1000 skills:  median {list_med:7.2f} ms   p90 {list_p90:7.2f} ms   (target < 100 ms)")
    print(f"/bin/true directly:        median {direct_med:7.2f} ms   p90 {direct_p90:7.2f} ms")
    print(f"skillet run, unsandboxed:  median {bare_med:7.2f} ms   p90 {bare_p90:7.2f} ms")
    print(f"skillet run, sandboxed:    median {run_med:7.2f} ms   p90 {run_p90:7.2f} ms")
    print(f"runner overhead:           median {bare_med - direct_med:7.2f} ms               (target < 5 ms)")
    print(f"with the full sandbox:     median {run_med - direct_med:7.2f} ms")


if __name__ == "__main__":
    main()
