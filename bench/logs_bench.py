#!/usr/bin/env python3
"""Times `skillet logs` as a user runs it (whole processes) over a full log: 200,000 lines (the
store's cap) of the kind runs leave, across 50 skills and 20,000 executions over a week.

Forms timed: the newest 100 lines; a word that few lines hold (--grep, answered from the FTS5
index); a pattern with no literal that matches nothing (--grep '[qz]\\d{3}', every line
checked); one skill over the last
hour; one execution by the start of its id.

Usage: bench/logs_bench.py [--skillet target/release/skillet] [--lines 200000] [--runs 10] [--json]
Build first: cargo build --release -p skillet-cli
"""

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history_bench import timed, world  # noqa: E402

WORDS = ["compiling", "checking", "running", "tests", "passed", "warning", "unused", "variable",
         "fetching", "resolving", "downloaded", "finished", "reading", "writing", "retrying"]


def fill(db: Path, lines: int) -> str:
    """Writes `lines` log lines in one transaction (the triggers index them); returns one
    execution id that has lines."""
    rng = random.Random(25)
    now = int(time.time() * 1000)
    week = 7 * 86_400_000
    executions = max(lines // 10, 1)
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(executions)]
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous = OFF")

    def gen():
        for n in range(lines):
            e = n * executions // lines
            at = now - week + week * n // lines
            source = "stderr" if rng.random() < 0.2 else "stdout"
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
            if rng.random() < 0.001:
                words += " connection refused by upstream"
            yield (at, "info", source, f"skill-{e % 50}", ids[e], f"{words} #{rng.randint(0, 99999)}")

    conn.executemany(
        "INSERT INTO log_lines (at, level, source, skill, execution_id, message) VALUES (?, ?, ?, ?, ?, ?)",
        gen())
    conn.commit()
    conn.close()
    return ids[len(ids) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    skillet = str(Path(args.skillet).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        ws, env = world(Path(tmp))
        subprocess.run([skillet, "logs"], cwd=ws, env=env, capture_output=True, check=True)
        db = Path(env["XDG_DATA_HOME"]) / "skillet" / "skillet.db"
        started = time.perf_counter()
        execution = fill(db, args.lines)
        filled_s = time.perf_counter() - started
        row = {"lines": args.lines, "fill_s": round(filled_s, 1),
               "db_mib": round(db.stat().st_size / (1 << 20), 1)}
        for name, cmd in {
            "logs (newest 100)": ["logs"],
            "logs --grep refused (index)": ["logs", "--grep", "refused", "-n", "0"],
            "logs --grep '[qz]\\d{3}' (every line, no match)": ["logs", "--grep", r"[qz]\d{3}", "-n", "0"],
            "logs --skill S --since 1h": ["logs", "--skill", "skill-7", "--since", "1h"],
            "logs --execution PREFIX": ["logs", "--execution", execution[:23]],
        }.items():
            median, p90 = timed([skillet, *cmd], ws, env, args.runs, warmup=1)
            row[name] = {"median_ms": round(median, 1), "p90_ms": round(p90, 1)}
        print(json.dumps(row, indent=2 if args.json else None))


if __name__ == "__main__":
    main()
