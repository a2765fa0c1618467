#!/usr/bin/env python3
"""Replays a realistic agent session against the result cache and checks every hit.

Target (issue 23): over a session of 200 calls to 20 skills, with the repeats an agent makes and
files edited in between, the hit rate on the calls that *could* hit is at least 90%, and no hit
is stale. "Could hit" is decided by an oracle outside skillet: the call's skill and values, and
the content of the files that skill depends on (its `key_files`, the file its `path` parameter
names, the `key_env` value), were all seen together earlier in the session. A hit is stale when
rerunning the same call with `--no-cache` gives another stdout or exit code; every hit is rerun.

Edits between calls are of three kinds: appending a line, rewriting a file with the same size
and restoring its modification time (a stamp-only index would miss it), and replacing a file by
a new one (another inode). Also reported: `skillet run`'s whole wall time on a hit and a miss.

Usage: bench/cache_replay.py [--skillet target/release/skillet] [--calls 200] [--seed 23] [--json]
Build first: cargo build --release -p skillet-cli
"""

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC_FILES = [f"src/mod_{i:02d}.py" for i in range(12)]
DOC_FILES = [f"docs/page_{i}.md" for i in range(4)]


def skills() -> dict:
    """20 skills: (definition, what they depend on) where dependencies are `src`, `docs`,
    `param` (the file named by `file`) or `env`."""
    out = {}

    def code(name, args, deps, params=(), cache=None, **extra):
        spec = {"name": name, "description": name, "type": "code_inline", "command": "sh",
                "args": ["-c", args], "parameters": list(params), "cache": cache or {"ttl": 3600}}
        spec.update(extra)
        out[name] = (spec, deps)

    file_param = {"name": "file", "type": "path", "required": True}
    word = {"name": "word", "type": "string", "required": True}
    # Whole-tree tools keyed on globs.
    code("loc", "cat src/*.py | wc -l", {"src"}, cache={"ttl": 3600, "key_files": ["src/**/*.py"]})
    code("todo", "grep -c TODO src/*.py || true", {"src"}, cache={"ttl": 3600, "key_files": ["src/*.py"]})
    code("defs", "grep -h '^def ' src/*.py | sort", {"src"}, cache={"ttl": 3600, "key_files": ["src/**/*.py"]})
    code("imports", "grep -h '^import ' src/*.py | sort | uniq -c", {"src"}, cache={"ttl": 3600, "key_files": ["src/*.py"]})
    code("tree-hash", "cat src/*.py | sha256sum", {"src"}, cache={"ttl": 3600, "key_files": ["src/**"]})
    code("doc-words", "cat docs/*.md | wc -w", {"docs"}, cache={"ttl": 3600, "key_files": ["docs/*.md"]})
    code("doc-titles", "grep -h '^#' docs/*.md", {"docs"}, cache={"ttl": 3600, "key_files": ["docs/**/*.md"]})
    code("all-lines", "cat src/*.py docs/*.md | wc -l", {"src", "docs"},
         cache={"ttl": 3600, "key_files": ["src/*.py", "docs/*.md"]})
    # Per-file tools: the path parameter is keyed by content.
    code("wc", 'wc -l < "$SKILL_PARAM_FILE"', {"param"}, [file_param])
    code("head", 'head -n 3 "$SKILL_PARAM_FILE"', {"param"}, [file_param])
    code("sha", 'sha256sum < "$SKILL_PARAM_FILE"', {"param"}, [file_param])
    code("funcs", 'grep -c "^def " "$SKILL_PARAM_FILE" || true', {"param"}, [file_param])
    code("grep", 'grep -n "$SKILL_PARAM_WORD" "$SKILL_PARAM_FILE" || true', {"param"}, [file_param, word])
    code("longest", "awk '{ if (length > m) { m = length; l = $0 } } END { print l }' \"$SKILL_PARAM_FILE\"",
         {"param"}, [file_param])
    # Pure functions of their values.
    code("upper", 'printf %s "$SKILL_PARAM_WORD" | tr a-z A-Z', set(), [word])
    code("rev", 'printf %s "$SKILL_PARAM_WORD" | rev', set(), [word])
    code("slug", 'printf %s "$SKILL_PARAM_WORD" | tr -c a-z0-9 -', set(), [word])
    code("len", 'printf %s "$SKILL_PARAM_WORD" | wc -c', set(), [word])
    # Keyed on the caller's environment.
    code("locale", 'printf "%s\\n" "$SKILL_PARAM_WORD"', {"env"}, [word],
         cache={"ttl": 3600, "key_env": ["BENCH_MODE"]})
    code("mode", "echo mode", {"env"}, cache={"ttl": 3600, "key_env": ["BENCH_MODE"]})
    return out


def world(root: Path) -> tuple[Path, dict]:
    home, ws = root / "home", root / "ws"
    (ws / ".git").mkdir(parents=True)
    (ws / ".skillet" / "skills").mkdir(parents=True)
    home.mkdir()
    (root / "run").mkdir(mode=0o700)
    for name, (spec, _) in skills().items():
        (ws / ".skillet" / "skills" / f"{name}.json").write_text(json.dumps(spec))
    rng = random.Random(1)
    for rel in SRC_FILES:
        lines = ["import os", "import sys"] + [
            f"def f{i}(x):\n    return x * {rng.randint(1, 9)}  # TODO {i}" for i in range(rng.randint(3, 8))]
        write(ws / rel, "\n".join(lines) + "\n")
    for i, rel in enumerate(DOC_FILES):
        write(ws / rel, f"# Page {i}\n\nSome words about page {i}.\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_RUNTIME_DIR": str(root / "run"),
        "BENCH_MODE": "a",
    }
    return ws, env


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def session(rng: random.Random, calls: int):
    """The calls an agent makes: a few skills it keeps coming back to, the same files asked
    about again, edits in between. Yields ("call", skill, params, env_mode) or ("edit", kind, file)."""
    names = list(skills())
    # Zipf-like: the first skills are asked far more often.
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(names))]
    rng.shuffle(names)
    hot_files = SRC_FILES[:4] + DOC_FILES[:1]
    words = ["parse", "render", "TODO", "def"]
    mode = "a"
    made = 0
    while made < calls:
        if made and made % 12 == 0:
            kind = rng.choice(["append", "append", "same-size", "replace"])
            yield ("edit", kind, rng.choice(hot_files[:4] + [rng.choice(SRC_FILES)]))
        if made and made % 50 == 0:
            mode = "b" if mode == "a" else "a"
        name = rng.choices(names, weights)[0]
        spec, _ = skills()[name]
        params = {}
        for p in spec["parameters"]:
            if p["type"] == "path":
                params[p["name"]] = rng.choice(hot_files) if rng.random() < 0.8 else rng.choice(SRC_FILES)
            else:
                params[p["name"]] = rng.choice(words)
        # An agent repeats itself: often the very call it just made, or one from a little earlier.
        yield ("call", name, params, mode)
        made += 1


def edit(ws: Path, kind: str, rel: str, n: int) -> None:
    path = ws / rel
    text = path.read_text()
    if kind == "append":
        path.write_text(text + f"def edited_{n}(x):\n    return x\n")
    elif kind == "same-size":
        st = path.stat()
        # Flip one digit in place: same size; then the old modification time back.
        i = next(i for i, c in enumerate(text) if c.isdigit())
        flipped = text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1:]
        path.write_text(flipped)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    else:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text + f"# replaced {n}\n")
        os.replace(tmp, path)


def oracle_key(ws: Path, name: str, params: dict, mode: str) -> str:
    _, deps = skills()[name]
    h = hashlib.sha256(json.dumps([name, params], sort_keys=True).encode())
    if "src" in deps:
        for rel in SRC_FILES:
            h.update((ws / rel).read_bytes())
    if "docs" in deps:
        for rel in DOC_FILES:
            h.update((ws / rel).read_bytes())
    if "param" in deps:
        h.update((ws / params["file"]).read_bytes())
    if "env" in deps:
        h.update(mode.encode())
    return h.hexdigest()


def run(skillet: str, ws: Path, env: dict, name: str, params: dict, mode: str, *flags) -> tuple[dict, float]:
    argv = [skillet, "run", name, "--json", *flags]
    for k, v in params.items():
        argv += ["-p", f"{k}={v}"]
    started = time.perf_counter()
    out = subprocess.run(argv, cwd=ws, env={**env, "BENCH_MODE": mode}, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True)
    wall = (time.perf_counter() - started) * 1000
    try:
        result = json.loads(out.stdout)
    except json.JSONDecodeError:
        sys.exit(f"{name} {params}: not JSON: {out.stdout}\n{out.stderr}")
    return result, wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skillet", default="target/release/skillet")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    skillet = str(Path(args.skillet).resolve())
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        ws, env = world(Path(tmp))
        seen: set[str] = set()
        could = hits = hits_on_could = unexpected = stale = edits = 0
        hit_walls, miss_walls, failures = [], [], []
        for n, step in enumerate(session(rng, args.calls)):
            if step[0] == "edit":
                edit(ws, step[1], step[2], n)
                edits += 1
                continue
            _, name, params, mode = step
            key = oracle_key(ws, name, params, mode)
            could_hit = key in seen
            seen.add(key)
            result, wall = run(skillet, ws, env, name, params, mode)
            if result.get("status") != "ok":
                failures.append((name, params, result.get("status"), result.get("error")))
            cached = result.get("cached") is True
            could += could_hit
            if cached:
                hits += 1
                hits_on_could += could_hit
                unexpected += not could_hit
                hit_walls.append(wall)
                fresh, _ = run(skillet, ws, env, name, params, mode, "--no-cache")
                if (fresh.get("stdout"), fresh.get("exit_code")) != (result.get("stdout"), result.get("exit_code")):
                    stale += 1
                    print(f"STALE: {name} {params}: cached {result.get('stdout')!r}, fresh {fresh.get('stdout')!r}",
                          file=sys.stderr)
            else:
                miss_walls.append(wall)
        calls = len(hit_walls) + len(miss_walls)
        figures = {
            "calls": calls,
            "skills": len(skills()),
            "edits": edits,
            "could_hit": could,
            "hits": hits,
            "hit_rate_on_could_hit": hits_on_could / could if could else None,
            "unexpected_hits": unexpected,
            "stale_hits": stale,
            "failed_calls": len(failures),
            "hit_wall_ms_median": statistics.median(hit_walls) if hit_walls else None,
            "miss_wall_ms_median": statistics.median(miss_walls) if miss_walls else None,
        }
        if args.json:
            print(json.dumps(figures, indent=2))
        else:
            rate = figures["hit_rate_on_could_hit"]
            print(f"{calls} calls over {figures['skills']} skills, {edits} edits")
            print(f"could hit: {could}; hit: {hits_on_could} ({rate:.1%}; target >= 90%)")
            print(f"unexpected hits: {unexpected}; stale hits: {stale} (target 0); failed calls: {len(failures)}")
            print(f"skillet run wall time: hit median {figures['hit_wall_ms_median']:.1f} ms, "
                  f"miss median {figures['miss_wall_ms_median']:.1f} ms")
        for f in failures[:5]:
            print(f"failed: {f}", file=sys.stderr)
        ok = stale == 0 and could and hits_on_could / could >= 0.9
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
