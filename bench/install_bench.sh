#!/usr/bin/env bash
# `skillet install` of a 20-skill package, whole processes: from a local folder (target under
# 1 s) and from a local git repository over file:// at a tag (target under 3 s). Each run
# installs into a fresh workspace; the median and p90 wall time of each are printed.
#
#   bench/install_bench.sh [runs]        (default 11 runs per source)
#
# SKILLET names the binary (default target/release/skillet; build it with
# `cargo build --release -p skillet-cli`). Each skill is a code skill with a script beside it,
# so the package is 41 files plus its manifest.
set -euo pipefail

runs=${1:-11}
skillet=${SKILLET:-target/release/skillet}
[ -x "$skillet" ] || { echo "no $skillet: build it with cargo build --release -p skillet-cli, or set SKILLET" >&2; exit 1; }
skillet=$(realpath "$skillet")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
mkdir -p "$HOME"

python3 - "$work/kit" <<'PY'
import json, os, sys
root = sys.argv[1]
names = [f"kit-s{i:02d}" for i in range(20)]
os.makedirs(root)
with open(os.path.join(root, "skillet-package.toml"), "w") as f:
    f.write('[package]\nname = "kit"\nversion = "1.0.0"\ndescription = "bench"\n')
    f.write("skills = [" + ", ".join(f'"skills/{n}"' for n in names) + "]\n")
for n in names:
    d = os.path.join(root, "skills", n)
    os.makedirs(d)
    with open(os.path.join(d, "skill.json"), "w") as f:
        json.dump({"name": n, "description": f"skill {n}", "type": "code_inline",
                   "command": "sh", "args": ["$SKILLET_SKILL_DIR/run.sh"]}, f)
    with open(os.path.join(d, "run.sh"), "w") as f:
        f.write("#!/bin/sh\necho " + n + "\n" * 50)
PY
git -C "$work" init -q --bare kit.git
cp -r "$work/kit" "$work/kit-work"
(cd "$work/kit-work" && git init -q -b main && git add -A \
  && git -c user.name=b -c user.email=b@example.test commit -q -m v1 && git tag v1.0.0 \
  && git push -q "$work/kit.git" main --tags)

measure() { # label source
    local label=$1 source=$2 times=()
    for i in $(seq "$runs"); do
        local ws="$work/ws-$label-$i"
        mkdir -p "$ws/.git"
        local start end
        start=$(date +%s%N)
        (cd "$ws" && "$skillet" install "$source" --yes >/dev/null)
        end=$(date +%s%N)
        times+=($(( (end - start) / 1000 )))
        [ -f "$ws/.skillet/packages/kit/.skillet-receipt.json" ] || { echo "$label: not installed" >&2; exit 1; }
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '
        { t[NR] = $1 }
        END { m = t[int((NR + 1) / 2)]; p = t[int(NR * 0.9 + 0.5)];
              printf "%-14s median %7.1f ms   p90 %7.1f ms   (%d runs)\n", label, m / 1000, p / 1000, NR }'
}

measure folder "$work/kit"
measure git "git+file://$work/kit.git#v1.0.0"
