#!/usr/bin/env python3
"""What keeping a run's output tail costs (`[history] store_output`): a sandboxed skill that
prints 10 lines, run as whole processes, with the setting on and off in alternating rounds.

Usage: bench/output_tail_cost.py [--skillet target/release/skillet] [--rounds 4] [--runs 40] [--settings]
Build first: cargo build --release -p skillet-cli

--settings: the 10 lines are settings whose keys name secrets (`password=…`, `api_key: …`,
`Cookie: …`), so every redaction pass that goes by a key's name runs: the worst case.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


SETTINGS = ("for i in 1 2; do echo \"password=Hunter2Secret$i\"; echo \"api_key: sk-live-$i-abcdefghijklmnop\"; "
            "echo \"Cookie: a=1; session=Zx9$i\"; echo \"DB_PASS=pw$i-Secret\"; "
            "echo \"<password>Hunter2$i</password>\"; done")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skillet", default="target/release/skillet")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--settings", action="store_true")
    a = p.parse_args()
    skillet = str(Path(a.skillet).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws, home, run = root / "ws", root / "home", root / "run"
        (ws / ".git").mkdir(parents=True)
        (ws / ".skillet" / "skills").mkdir(parents=True)
        (home / ".config" / "skillet").mkdir(parents=True)
        run.mkdir(mode=0o700)
        (ws / ".skillet" / "skills" / "talk.json").write_text(json.dumps({
            "name": "talk", "description": "d", "type": "code_inline", "command": "sh",
            "args": ["-c", SETTINGS if a.settings else "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i of output; done"]}))
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_DATA_HOME": str(home / ".local/share"), "XDG_RUNTIME_DIR": str(run)}
        config = home / ".config" / "skillet" / "skillet.toml"

        def median_ms(runs):
            samples = []
            for i in range(runs + 5):
                start = time.perf_counter()
                subprocess.run([skillet, "run", "talk"], cwd=ws, env=env, stdout=subprocess.DEVNULL, check=True)
                if i >= 5:
                    samples.append((time.perf_counter() - start) * 1000)
            return statistics.median(samples)

        result = {"on": [], "off": []}
        for _ in range(a.rounds):
            for mode in ("on", "off"):
                config.write_text("" if mode == "on" else "[history]\nstore_output = false\n")
                result[mode].append(round(median_ms(a.runs), 2))
        print(json.dumps({"medians_ms": result,
                          "on_minus_off_ms": round(statistics.median(result["on"]) - statistics.median(result["off"]), 2)}))


if __name__ == "__main__":
    main()
