#!/usr/bin/env bash
# `skillet run NAME` in a workspace of 10 skills and in one of 20,000: whole processes, the
# median and p90 wall time of each, and the difference (issue 20: within 2 ms).
#
#   bench/run_big_workspace.sh [runs]        (default 50 runs per workspace)
#
# SKILLET names the binary (default target/release/skillet; build it with
# `cargo build --release -p skillet-cli`). The skill run is a prompt_inline one, so what is
# measured is finding and loading the skill, not a sandbox; a code skill adds the same
# sandbox cost to both. The two workspaces are run in turns, so a busy machine slows both.
set -euo pipefail

runs=${1:-50}
skillet=${SKILLET:-target/release/skillet}
[ -x "$skillet" ] || { echo "no $skillet: build it with cargo build --release -p skillet-cli, or set SKILLET" >&2; exit 1; }
skillet=$(realpath "$skillet")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_workspace() { # dir count
    local ws=$1 count=$2
    mkdir -p "$ws/.git" "$ws/.skillet/skills"
    python3 - "$ws/.skillet/skills" "$count" <<'EOF'
import json, sys, os
skills, count = sys.argv[1], int(sys.argv[2])
for i in range(count - 1):
    name = f"skill-{i:05d}"
    with open(os.path.join(skills, name + ".json"), "w") as f:
        json.dump({"name": name, "description": f"skill {i}", "type": "prompt_inline",
                   "prompt_template": "Review {file}", "aliases": [f"s{i}"],
                   "parameters": [{"name": "file", "type": "string", "default": "x"}]}, f)
with open(os.path.join(skills, "target.json"), "w") as f:
    json.dump({"name": "target", "description": "the skill run", "type": "prompt_inline",
               "prompt_template": "Review {file}",
               "parameters": [{"name": "file", "type": "string", "default": "x"}]}, f)
EOF
}

make_workspace "$work/small" 10
make_workspace "$work/big" 20000
mkdir -p "$work/home"

python3 - "$skillet" "$work" "$runs" <<'EOF'
import os, subprocess, sys, time, statistics
skillet, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
home = os.path.join(work, "home")
env = {"PATH": os.environ.get("PATH", ""), "HOME": home,
       "XDG_CONFIG_HOME": os.path.join(home, ".config"),
       "XDG_DATA_HOME": os.path.join(home, ".local/share"),
       "XDG_RUNTIME_DIR": os.path.join(work, "run")}
os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)

cpu = {"small": [], "big": []}

def once(ws):
    start = time.perf_counter()
    p = subprocess.Popen([skillet, "run", "target"], cwd=os.path.join(work, ws), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    took = (time.perf_counter() - start) * 1000
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0 or b"Review x" not in out:
        sys.exit(f"run in {ws} failed ({p.returncode}): {err.decode()[:500]}")
    # CPU time is what the process itself cost, whatever else the machine is doing.
    cpu[ws].append((usage.ru_utime + usage.ru_stime) * 1000)
    return took

for ws in ("small", "big"):  # warm the page cache and the history database
    for _ in range(3):
        once(ws)
cpu = {"small": [], "big": []}
times = {"small": [], "big": []}
for i in range(runs):
    # Alternating which goes first, so neither always follows the other's history write.
    for ws in (("small", "big") if i % 2 == 0 else ("big", "small")):
        times[ws].append(once(ws))

def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]

print(f"skillet run target, {runs} runs each, whole processes ({skillet})")
print(f"{'workspace':<16}{'wall median':>12}{'wall p90':>10}{'cpu median':>12}{'cpu p90':>10}  (ms)")
for ws, label in (("small", "10 skills"), ("big", "20,000 skills")):
    print(f"{label:<16}{statistics.median(times[ws]):>12.2f}{p90(times[ws]):>10.2f}"
          f"{statistics.median(cpu[ws]):>12.2f}{p90(cpu[ws]):>10.2f}")
d = statistics.median(times["big"]) - statistics.median(times["small"])
c = statistics.median(cpu["big"]) - statistics.median(cpu["small"])
print(f"difference of medians: wall {d:+.2f} ms, cpu {c:+.2f} ms (target: within 2 ms)")
print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
EOF
