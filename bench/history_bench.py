#!/usr/bin/env python3
"""Times `skillet history` forms as whole processes over a history of 1,000,000 executions.

Target (issue 20): every form under 20 ms at 1M rows, except a full dump, which must stream at
constant memory. The rows are written straight into skillet's SQLite file in one transaction
(after skillet has created and migrated it), the way months of use would leave it: 50 skills,
mostly `ok`, some `failed`, none `timeout`, spread over the last 60 days, with UUIDv7 ids.

Also measured: `skillet run` of a prompt skill with the big history and with an empty one (each
recorded run does a bounded retention check), and `history prune --dry-run`.

Usage: bench/history_bench.py [--skillet target/release/skillet] [--rows 1000000] [--runs 30] [--json]
Build first: cargo build --release -p skillet-cli
"""

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SKILLS = [f"skill-{i:02d}" for i in range(50)]


def world(root: Path) -> tuple[Path, dict]:
    home, ws = root / "home", root / "ws"
    (ws / ".git").mkdir(parents=True)
    skills = ws / ".skillet" / "skills"
    skills.mkdir(parents=True)
    (skills / "p.json").write_text(json.dumps(
        {"name": "p", "description": "d", "type": "prompt_inline", "prompt_template": "hi"}))
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_RUNTIME_DIR": str(root / "run"),
    }
    (root / "run").mkdir()
    return ws, env


def uuid7(ms: int, rng: random.Random) -> str:
    hex_ = f"{ms:012x}{0x7000 | rng.getrandbits(12):04x}{0x8000 | rng.getrandbits(14):04x}{rng.getrandbits(48):012x}"
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


def fill(db: Path, rows: int) -> list[str]:
    """Writes `rows` executions in one transaction; returns a few of their ids."""
    rng = random.Random(20)
    now = int(time.time() * 1000)
    span = 60 * 86_400_000
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous = OFF")
    ids = []

    def gen():
        for n in range(rows):
            started = now - span + span * n // rows
            id_ = uuid7(started, rng)
            if n % 100_000 == 0:
                ids.append(id_)
            status = "failed" if n % 50 == 7 else "ok"
            yield (id_, SKILLS[n % len(SKILLS)], "1.0.0", "workspace", f"sha256:{rng.getrandbits(256):064x}",
                   None, status, 1 if status == "failed" else 0, 1, id_, None, started, started + 40, 40,
                   5_000, 12, 0, None, None, "cli", None)

    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO executions (id, skill, version, scope, params_hash, params, status, exit_code, attempt, "
        "correlation_id, parent_id, started_at, finished_at, duration_ms, peak_memory_kb, cpu_time_ms, truncated, "
        "limit_hit, error, origin, request_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", gen())
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return ids


def timed(cmd, cwd, env, runs, warmup=3):
    """Median and p90 wall time of `cmd` to completion, in milliseconds."""
    for _ in range(warmup):
        subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        samples.append((time.perf_counter() - start) * 1000)
        if proc.returncode != 0:
            sys.exit(f"{cmd} failed with exit code {proc.returncode}: {proc.stderr.decode()[:500]}")
    samples.sort()
    return statistics.median(samples), samples[max(int(len(samples) * 0.9) - 1, 0)]


def dump(cmd, cwd, env):
    """Wall time (ms), peak RSS (MiB) and output size (MB) of one run, output read and dropped."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    size = 0
    while chunk := proc.stdout.read(1 << 20):
        size += len(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd} failed")
    return elapsed, usage.ru_maxrss / 1024, size / 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    skillet = str(Path(args.skillet).resolve())
    results = {"rows": args.rows, "forms": {}}
    with tempfile.TemporaryDirectory() as tmp:
        ws, env = world(Path(tmp))
        run = lambda *a: subprocess.run([skillet, *a], cwd=ws, env=env, capture_output=True, check=True)
        run("history")  # creates and migrates the database
        empty_run = timed([skillet, "run", "p"], ws, env, args.runs)
        db = Path(env["XDG_DATA_HOME"]) / "skillet" / "skillet.db"
        start = time.perf_counter()
        ids = fill(db, args.rows)
        results["fill_s"] = round(time.perf_counter() - start, 1)
        results["db_mb"] = round(db.stat().st_size / 1e6, 1)
        some = ids[len(ids) // 2]
        forms = {
            "history": ["history"],
            "history --json": ["history", "--json"],
            "history --limit 1000": ["history", "--limit", "1000"],
            "history SKILL": ["history", SKILLS[3]],
            "history --status failed": ["history", "--status", "failed"],
            "history --status timeout (no match)": ["history", "--status", "timeout"],
            "history SKILL --status failed --since 1w": ["history", SKILLS[7], "--status", "failed", "--since", "1w"],
            "history --since 1h": ["history", "--since", "1h"],
            "history show PREFIX (13 chars)": ["history", "show", some[:13].upper()],
            "history show ID": ["history", "show", some],
            "history prune --dry-run": ["history", "prune", "--dry-run"],
        }
        for name, cmd in forms.items():
            median, p90 = timed([skillet, *cmd], ws, env, args.runs)
            results["forms"][name] = {"median_ms": round(median, 1), "p90_ms": round(p90, 1)}
        results["run_empty_history"] = {"median_ms": round(empty_run[0], 1), "p90_ms": round(empty_run[1], 1)}
        big_run = timed([skillet, "run", "p"], ws, env, args.runs)
        results["run_1m_history"] = {"median_ms": round(big_run[0], 1), "p90_ms": round(big_run[1], 1)}
        for name, cmd in {"history --limit 0": ["history", "--limit", "0"],
                          "history --limit 0 --json": ["history", "--limit", "0", "--json"]}.items():
            ms, rss, mb = dump([skillet, *cmd], ws, env)
            results["forms"][name] = {"wall_ms": round(ms), "max_rss_mib": round(rss, 1), "output_mb": round(mb, 1)}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{results['rows']} rows written in {results['fill_s']} s; database {results['db_mb']} MB")
    for name, r in results["forms"].items():
        if "median_ms" in r:
            print(f"  {name:45} median {r['median_ms']:7.1f} ms   p90 {r['p90_ms']:7.1f} ms")
        else:
            print(f"  {name:45} {r['wall_ms']} ms, max RSS {r['max_rss_mib']} MiB, {r['output_mb']} MB out")
    for key in ("run_empty_history", "run_1m_history"):
        r = results[key]
        print(f"  {key:45} median {r['median_ms']:7.1f} ms   p90 {r['p90_ms']:7.1f} ms")


if __name__ == "__main__":
    main()
