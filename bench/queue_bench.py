#!/usr/bin/env python3
"""The daemon's job queue at 1,000 queued jobs: overhead per job, and the longest wait of low.

Targets (issue 24): the queue's overhead per job (enqueue -> start) is under 1 ms with 1,000 jobs
queued; with 1,000 queued jobs of mixed priorities no low job starves (report the max wait of
low priority).

Whole processes against a real daemon, as a user's shell drives them: `skillet run --detach`
submits, `skillet jobs --json` reads the jobs' times back. A `gate` job (it runs until the
bench creates a file) holds the only slot (`[jobs] max_running = 1`) while N jobs of `tick`
(`true`, in the default sandbox) are submitted, so all N wait at once; then the gate opens.

* overhead: with one slot, job i starts when job i-1 ends; the gap between job i-1's
  `finished_at_ms` and job i's `started_at_ms` is what the queue costs per job (recording the
  end, choosing the next among the waiting, recording its start). Reported as mean and p99
  over the N handoffs, with 1,000 .. 1 jobs still waiting.
* mixed priorities: the N jobs are submitted low/normal/high in turn (a third each), again all
  queued behind the gate, with `max_running = 2`; reported: the max and median queue wait of
  each priority, with the default aging (30 s) and a short one (--aging, default 2 s), so
  aging has time to act within the run.

Usage: bench/queue_bench.py [--skillet target/release/skillet] [--jobs 1000] [--aging 2]
       [--submitters 4] [--json]
Build first: cargo build --release -p skillet-cli
"""

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def world(root: Path, config: str) -> dict:
    home, ws = root / "home", root / "ws"
    (ws / ".git").mkdir(parents=True)
    (ws / ".skillet/skills").mkdir(parents=True)
    (home / ".config/skillet").mkdir(parents=True)
    (home / ".config/skillet/skillet.toml").write_text(config)
    run_dir = root / "run"
    run_dir.mkdir(mode=0o700)
    tick = {"name": "tick", "description": "Does nothing, sandboxed", "type": "code_inline",
            "command": "true", "timeout": 30}
    gate = {"name": "gate", "description": "Holds the slot until `release` exists",
            "type": "code_inline", "command": "sh",
            "args": ["-c", "while [ ! -e release ]; do sleep 0.05; done"], "timeout": 600}
    for spec in (tick, gate):
        (ws / f".skillet/skills/{spec['name']}.json").write_text(json.dumps(spec))
    env = {"PATH": os.environ["PATH"], "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_RUNTIME_DIR": str(run_dir)}
    return {"ws": ws, "env": env}


def skillet(w: dict, exe: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, *args], cwd=w["ws"], env=w["env"], capture_output=True, text=True)


def submit(w: dict, exe: str, skill: str, priority: str = "normal") -> str:
    r = skillet(w, exe, "run", skill, "--detach", "--priority", priority)
    if r.returncode != 0:
        raise SystemExit(f"submitting {skill} failed ({r.returncode}): {r.stderr}")
    return r.stdout.strip()


def all_jobs(w: dict, exe: str) -> list:
    r = skillet(w, exe, "jobs", "--json", "--limit", "0")
    if r.returncode != 0:
        raise SystemExit(f"skillet jobs failed: {r.stderr}")
    return json.loads(r.stdout)


def fill_and_drain(root: Path, exe: str, slots: int, extra: str, priorities: list,
                   submitters: int) -> tuple:
    """Queues one job per entry of `priorities` behind `slots` gates (one per slot), opens
    them, and returns every tick job once all have ended, and when the gates opened."""
    config = f"[jobs]\nmax_running = {slots}\nmax_queued = {len(priorities) + 10}\n{extra}"
    w = world(root, config)
    if skillet(w, exe, "trust").returncode != 0:
        raise SystemExit("skillet trust failed")
    for _ in range(slots):
        submit(w, exe, "gate")
    with concurrent.futures.ThreadPoolExecutor(submitters) as pool:
        list(pool.map(lambda p: submit(w, exe, "tick", p), priorities))
    waiting = sum(1 for j in all_jobs(w, exe) if j["status"] == "queued")
    if waiting != len(priorities):
        raise SystemExit(f"{waiting} jobs waiting, expected {len(priorities)}")
    (w["ws"] / "release").write_text("")
    deadline = time.monotonic() + 1800
    while True:
        everything = all_jobs(w, exe)
        jobs = [j for j in everything if j["skill"] == "tick"]
        if all(j["status"] not in ("queued", "running") for j in jobs):
            break
        if time.monotonic() > deadline:
            raise SystemExit("the jobs did not all end within 30 minutes")
        time.sleep(1)
    skillet(w, exe, "daemon", "stop")
    bad = [j for j in jobs if j.get("outcome") != "ok"]
    if bad:
        raise SystemExit(f"{len(bad)} jobs did not end ok, e.g. {bad[0]}")
    opened = min(j["finished_at_ms"] for j in everything if j["skill"] == "gate")
    return jobs, opened


def pct(values: list, p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def overhead(root: Path, exe: str, n: int, submitters: int) -> dict:
    jobs, _ = fill_and_drain(root, exe, 1, "", ["normal"] * n, submitters)
    jobs.sort(key=lambda j: (j["started_at_ms"], j["finished_at_ms"]))
    gaps = [b["started_at_ms"] - a["finished_at_ms"] for a, b in zip(jobs, jobs[1:])]
    return {"jobs": n, "handoffs": len(gaps), "mean_ms": round(statistics.mean(gaps), 3),
            "p50_ms": pct(gaps, 0.5), "p99_ms": pct(gaps, 0.99), "max_ms": max(gaps),
            "run_ms_mean": round(statistics.mean(j["finished_at_ms"] - j["started_at_ms"]
                                                 for j in jobs), 1)}


def mixed(root: Path, exe: str, n: int, aging: int | None, submitters: int) -> dict:
    aging_line = "" if aging is None else f"aging_s = {aging}\n"
    order = ["low", "normal", "high"]
    jobs, opened = fill_and_drain(root, exe, 2, aging_line, [order[i % 3] for i in range(n)],
                                  submitters)
    out = {"jobs": n, "aging_s": 30 if aging is None else aging}
    drained = max(j["finished_at_ms"] for j in jobs) - min(j["started_at_ms"] for j in jobs)
    out["drain_s"] = round(drained / 1000, 1)
    for p in order:
        waits = [j["queue_wait_ms"] for j in jobs if j["priority"] == p]
        # From the gate's opening: the wait the queue's order decides, without the time the
        # submissions took (which every job spent waiting too).
        after = [j["started_at_ms"] - opened for j in jobs if j["priority"] == p]
        out[p] = {"max_wait_s": round(max(waits) / 1000, 1),
                  "median_wait_s": round(statistics.median(waits) / 1000, 1),
                  "max_after_opening_s": round(max(after) / 1000, 1)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skillet", default="target/release/skillet")
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--aging", type=int, default=2)
    ap.add_argument("--submitters", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    exe = str(Path(a.skillet).resolve())
    report = {"cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        report["overhead"] = overhead(Path(tmp) / "overhead", exe, a.jobs, a.submitters)
        report["mixed"] = [mixed(Path(tmp) / f"mixed{i}", exe, a.jobs, aging, a.submitters)
                           for i, aging in enumerate([None, a.aging])]
    if a.json:
        print(json.dumps(report, indent=2))
        return 0
    o = report["overhead"]
    print(f"{o['jobs']} jobs queued behind one slot, on {report['cores']} cores")
    print(f"  queue handoff (one job's end recorded -> the next one's start recorded): "
          f"mean {o['mean_ms']} ms, p50 {o['p50_ms']} ms, p99 {o['p99_ms']} ms, "
          f"max {o['max_ms']} ms; a run itself took {o['run_ms_mean']} ms")
    for m in report["mixed"]:
        print(f"{m['jobs']} jobs, low/normal/high in turn, 2 slots, aging_s = {m['aging_s']}: "
              f"drained in {m['drain_s']} s")
        for p in ("high", "normal", "low"):
            print(f"  {p:>6}: max wait {m[p]['max_wait_s']} s, median {m[p]['median_wait_s']} s, "
                  f"last started {m[p]['max_after_opening_s']} s after the gate opened")
    return 0


if __name__ == "__main__":
    sys.exit(main())
