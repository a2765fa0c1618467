#!/usr/bin/env python3
"""`skillet list` memory per skill, and its time over 1,000 skills (issue 20: at most ~2 KB per
skill kept; issue 19: a list of 1,000 skills under 30 ms).

    bench/list_memory.py [--skillet target/release/skillet] [--runs 20] [--counts 10,1000,10000]

For each count, a git-rooted workspace of that many skills (the shape `bench/cli_bench.py`
uses: ~600-byte files, two thirds code_inline, one third prompt_inline, every tenth a package
folder, an alias and four typed parameters each) is listed as a table, output to /dev/null, as
whole processes. Peak RSS comes from `wait4` (what `/usr/bin/time -v` reports as "Maximum
resident set size"); the figure per skill is (peak at N - peak at 10) / (N - 10). A scope reads at most 10,000
skill files (more are reported and left unread), so larger counts measure nothing more. Each
count is measured cold (the metadata cache in $XDG_CACHE_HOME/skillet removed before every run:
every file read and validated) and warm (after two warm-ups, every file answered by the cache).
Times are medians and p90 of `--runs` runs.
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

sys.path.insert(0, str(Path(__file__).parent))
from cli_bench import make_world  # noqa: E402

# skillet does not cache a skill file changed in the last two seconds.
SETTLE_S = 2.5


def once(skillet, ws, env, args):
    start = time.perf_counter()
    p = subprocess.Popen([skillet, *args], cwd=ws, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    took = (time.perf_counter() - start) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"skillet {' '.join(args)} failed: {err.decode()[:500]}")
    return took, usage.ru_maxrss, (usage.ru_utime + usage.ru_stime) * 1000  # RSS in KiB


def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.9))]


def measure(skillet, ws, env, runs, cold):
    """Median and p90 wall time, median CPU and peak RSS of `runs` listings. Cold: the metadata
    cache is removed before each run, so every file is read and validated."""
    cache = Path(env["XDG_CACHE_HOME"])
    times, rss, cpu = [], [], []
    for _ in range(runs):
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        t, r, c = once(skillet, ws, env, ["list"])
        times.append(t)
        rss.append(r)
        cpu.append(c)
    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    _, json_rss, _ = once(skillet, ws, env, ["list", "--json"])
    return {"median_ms": statistics.median(times), "p90_ms": p90(times),
            "cpu_ms": statistics.median(cpu), "rss_kib": max(rss), "json_rss_kib": json_rss}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--counts", default="10,1000,10000")
    args = parser.parse_args()
    skillet = str(Path(args.skillet).resolve())
    counts = [int(c) for c in args.counts.split(",")]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        worlds = {}
        for n in counts:
            ws, env = make_world(Path(tmp) / f"w{n}", n)
            home = Path(env["HOME"])
            env["XDG_DATA_HOME"] = str(home / ".local/share")
            env["XDG_CACHE_HOME"] = str(home / ".cache")
            env["XDG_RUNTIME_DIR"] = str(Path(tmp) / f"run{n}")
            os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
            worlds[n] = (ws, env)
        # A file changed in the last two seconds is not cached (its times may not yet show a
        # second write in the same tick): let the files settle, as a user's skills have.
        time.sleep(SETTLE_S)
        for n, (ws, env) in worlds.items():
            first, _, _ = once(skillet, ws, env, ["list"])
            listed = subprocess.run([skillet, "list", "--json"], cwd=ws, env=env,
                                    capture_output=True, check=True)
            assert len(json.loads(listed.stdout)) == n, f"expected {n} skills listed"
            cold = measure(skillet, ws, env, args.runs, cold=True)
            for _ in range(2):
                once(skillet, ws, env, ["list"])
            warm = measure(skillet, ws, env, args.runs, cold=False)
            rows[n] = {"first_ms": first, "cold": cold, "warm": warm}
    base = rows[min(counts)]
    print(f"{'skills':>7} {'cache':>5} {'median ms':>10} {'p90 ms':>8} {'CPU ms':>7} {'peak RSS':>10} "
          f"{'per skill':>10} {'--json RSS':>11} {'per skill':>10}")
    for n, row in rows.items():
        for kind in ("cold", "warm"):
            r, b = row[kind], base[kind]
            per = per_json = "-"
            if n != min(counts):
                per = f"{(r['rss_kib'] - b['rss_kib']) * 1024 / (n - min(counts)):.0f} B"
                per_json = f"{(r['json_rss_kib'] - b['json_rss_kib']) * 1024 / (n - min(counts)):.0f} B"
            print(f"{n:>7} {kind:>5} {r['median_ms']:>10.1f} {r['p90_ms']:>8.1f} {r['cpu_ms']:>7.1f} "
                  f"{r['rss_kib'] / 1024:>8.1f} MiB {per:>10} {r['json_rss_kib'] / 1024:>9.1f} MiB "
                  f"{per_json:>10}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
