#!/usr/bin/env python3
"""Start of an isolated `skillet test` on a large workspace: overlay vs copy vs --no-isolate.

    bench/isolated_start.py [--runs N] [--files N] [--mb N]

Makes a workspace of N files (default 20,000, in folders of 1,000) holding N MiB in all
(default 1,024) and one code skill with one test (`true`), then times whole `skillet test`
processes, in turns: the overlay (skillet's default as root), the copy
(SKILLET_ISOLATE_FORCE_COPY=1; the copy refuses a workspace past 20,000 entries or 256 MiB,
so a second workspace of 19,000 files and 200 MiB is also measured) and `--no-isolate`. Prints
the median and p90 wall time of each. SKILLET names the binary (default target/debug/skillet).
The overlay is used only as root: as another user every "overlay" run is a copy, and the
script says so.
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


def make_workspace(ws, files, total_mb):
    os.makedirs(os.path.join(ws, ".git"))
    os.makedirs(os.path.join(ws, ".skillet", "skills"))
    with open(os.path.join(ws, ".skillet", "skills", "t.json"), "w") as f:
        json.dump(
            {
                "name": "t",
                "description": "a test that does nothing",
                "type": "code_inline",
                "command": "true",
                "tests": [{"params": {}, "expect": {"exit_code": 0}}],
            },
            f,
        )
    size = total_mb * 1024 * 1024 // files
    block = os.urandom(size)
    for i in range(files):
        d = os.path.join(ws, "target", str(i // 1000))
        if i % 1000 == 0:
            os.makedirs(d)
        with open(os.path.join(d, f"{i}.bin"), "wb") as f:
            f.write(block)


def time_run(skillet, ws, env, args):
    start = time.perf_counter()
    out = subprocess.run(
        [skillet, "test", "--json", *args], cwd=ws, env=env, capture_output=True, text=True
    )
    took = time.perf_counter() - start
    try:
        kind = json.loads(out.stdout).get("isolation", {}).get("kind", "none")
    except json.JSONDecodeError:
        kind = "error"
    if out.returncode != 0:
        kind = "refused" if "too large" in out.stdout + out.stderr else f"failed: {out.stdout[-300:]}"
    return took, kind


def summary(times):
    times = sorted(times)
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    return f"median {statistics.median(times) * 1000:8.0f} ms   p90 {p90 * 1000:8.0f} ms"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--files", type=int, default=20_000)
    p.add_argument("--mb", type=int, default=1024)
    a = p.parse_args()
    skillet = os.path.realpath(os.environ.get("SKILLET", "target/debug/skillet"))
    if not os.access(skillet, os.X_OK):
        sys.exit(f"no {skillet}: build it with cargo build -p skillet-cli, or set SKILLET")
    work = tempfile.mkdtemp(prefix="isolated-bench-", dir="/var/tmp")
    try:
        home = os.path.join(work, "home")
        os.makedirs(home)
        base = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local/share"),
            "TMPDIR": tempfile.gettempdir(),
        }
        big = os.path.join(work, "big")
        small = os.path.join(work, "small")
        make_workspace(big, a.files, a.mb)
        # The copy stops at 20,000 entries (files and folders) and 256 MiB: 'small' fits.
        small_files = min(a.files, 19_000)
        make_workspace(small, small_files, 200)
        print(
            f"'big': {a.files} files, {a.mb} MiB; 'small': {small_files} files, 200 MiB; "
            f"{a.runs} runs each; {skillet}"
        )
        cases = [
            ("big   overlay", big, {}, []),
            ("big   copy", big, {"SKILLET_ISOLATE_FORCE_COPY": "1"}, []),
            ("big   --no-isolate", big, {}, ["--no-isolate"]),
            ("small overlay", small, {}, []),
            ("small copy", small, {"SKILLET_ISOLATE_FORCE_COPY": "1"}, []),
            ("small --no-isolate", small, {}, ["--no-isolate"]),
        ]
        results = {name: [] for name, *_ in cases}
        kinds = {name: set() for name, *_ in cases}
        for _ in range(a.runs):
            for name, ws, extra, args in cases:
                took, kind = time_run(skillet, ws, {**base, **extra}, args)
                results[name].append(took)
                kinds[name].add(kind)
        for name, *_ in cases:
            print(f"{name:20} {summary(results[name])}   ({', '.join(sorted(kinds[name]))})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
