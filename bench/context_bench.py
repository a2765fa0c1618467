#!/usr/bin/env python3
"""Context selection on a large tree against `rg --files -g PATTERN` on the same tree.

Target (issue 7): choosing a skill's context files takes at most 1.5x the time ripgrep takes to
list the files matching the pattern. The tree is generated: --files files (default 200,000) in
directories 4 levels deep, a tenth of them `.rs`, with a .gitignore that hides one directory in
ten. Both sides walk the same tree with the same ignore rules, warm (page cache filled first).

- skillet: `skillet context walk --json`, end to end (process start, skill discovery, the walk,
  ranking the matches, reading the chosen files, the change index in SQLite).
- ripgrep: `rg --files -g '**/*.rs'`, end to end.

Usage: bench/context_bench.py [--skillet target/release/skillet] [--files 200000] [--runs 15] [--json]
Build first: cargo build --release -p skillet-cli; install ripgrep (apt install ripgrep).
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


def generate(root: Path, files: int):
    (root / ".git").mkdir(parents=True)
    (root / ".gitignore").write_text("**/ignored*/\n")
    per_dir = 100
    for d in range(files // per_dir):
        a, b, c = d % 10, (d // 10) % 10, d // 100
        name = f"ignored{c}" if c % 10 == 9 else f"pkg{c}"
        folder = root / f"m{a}" / f"n{b}" / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_dir):
            ext = "rs" if i % 10 == 0 else ("md" if i % 10 == 1 else "txt")
            (folder / f"f{i}.{ext}").write_text(f"// file {d}/{i}\n")


def median_ms(cmd, cwd, env, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    skillet = str(Path(args.skillet).resolve())
    rg = shutil.which("rg")
    if not Path(skillet).is_file() or not rg:
        sys.exit("needs target/release/skillet (cargo build --release -p skillet-cli) and rg (apt install ripgrep)")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        home = Path(tmp) / "home"
        home.mkdir()
        generate(root, args.files)
        skills = root / ".skillet" / "skills"
        skills.mkdir(parents=True)
        (skills / "walk.json").write_text(json.dumps({
            "name": "walk", "type": "conversation", "prompt": "Read the code.",
            "context_files": {"patterns": ["**/*.rs"]}}))
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_DATA_HOME": str(home / ".local/share")}
        ours = [skillet, "context", "walk", "--json"]
        theirs = [rg, "--files", "-g", "**/*.rs"]
        listed = subprocess.run(theirs, cwd=root, env=env, capture_output=True, text=True).stdout.split()
        chosen = json.loads(subprocess.run(ours, cwd=root, env=env, capture_output=True, text=True, check=True).stdout)
        for _ in range(3):  # warm the page cache and the index
            median_ms(ours, root, env, 1)
            median_ms(theirs, root, env, 1)
        skillet_ms, rg_ms = [], []
        for _ in range(args.runs):  # taking turns, so drift on a shared machine hits both
            skillet_ms.append(median_ms(ours, root, env, 1))
            rg_ms.append(median_ms(theirs, root, env, 1))
    result = {
        "files_in_tree": args.files,
        "rs_files_listed_by_rg": len(listed),
        "files_chosen": len(chosen["files"]),
        "skillet_context_ms": round(statistics.median(skillet_ms), 1),
        "rg_files_ms": round(statistics.median(rg_ms), 1),
        "ratio": round(statistics.median(skillet_ms) / statistics.median(rg_ms), 2),
        "target": 1.5,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:24} {v}")


if __name__ == "__main__":
    main()
