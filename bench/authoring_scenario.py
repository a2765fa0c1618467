#!/usr/bin/env python3
"""Authoring-time scenario (issue 22): a 3-parameter script skill written by hand vs started
with `skillet create` and finished with `skillet test`.

Both paths end with the same skill passing `skillet test`: a package skill `greet-n`
(`skill.json` + `scripts/main.py`) with parameters `who` (string, required), `times` (integer,
default 1) and `shout` (boolean, default false), and one test.

What is counted, per path, until `skillet test` passes:
  - commands: the shell commands the author types (mkdir, chmod, skillet ...);
  - edits: files the author writes or changes in an editor;
  - typed: characters the author produces in those edits (a whole file written by hand counts
    all of it; a changed template counts only the lines added or changed, from difflib);
  - seconds: wall time of the commands themselves (the machine's share, not the person's).

The by-hand path is a lower bound: it assumes the author knows the format and types it right the
first time (no look-ups, no failed validate). Run: bench/authoring_scenario.py [path/to/skillet]
"""

import difflib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAME = "greet-n"

SKILL = {
    "name": NAME,
    "description": "Greet someone, several times, maybe loudly",
    "version": "0.1.0",
    "type": "code_inline",
    "command": "python3",
    "args": ["{skill_dir}/scripts/main.py"],
    "timeout": 10,
    "parameters": [
        {"name": "who", "type": "string", "required": True, "description": "Who to greet"},
        {"name": "times", "type": "integer", "default": 1, "min": 1, "max": 10,
         "description": "How many times"},
        {"name": "shout", "type": "boolean", "default": False, "description": "Upper case"},
    ],
    "tests": [
        {"name": "twice, loudly", "params": {"who": "Ada", "times": 2, "shout": True},
         "expect": {"exit_code": 0, "stdout_equals": "HELLO, ADA!\nHELLO, ADA!\n"}},
    ],
}

SCRIPT = '''#!/usr/bin/env python3
"""The skill's program. skillet gives every parameter as SKILL_PARAM_<NAME>."""
import os

who = os.environ["SKILL_PARAM_WHO"]
times = int(os.environ.get("SKILL_PARAM_TIMES", "1"))
line = f"Hello, {who}!"
if os.environ.get("SKILL_PARAM_SHOUT") == "true":
    line = line.upper()
for _ in range(times):
    print(line)
'''


class Author:
    def __init__(self, skillet, ws, env):
        self.skillet, self.ws, self.env = skillet, ws, env
        self.commands, self.edits, self.typed, self.seconds = 0, 0, 0, 0.0
        # The same, leaving out indentation (an editor inserts it).
        self.typed_bare = 0

    def run(self, *argv, check=True):
        argv = [self.skillet if a == "skillet" else a for a in argv]
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=self.ws, env=self.env, capture_output=True, text=True)
        self.seconds += time.perf_counter() - start
        self.commands += 1
        if check and done.returncode != 0:
            sys.exit(f"{argv} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done

    def write(self, rel, text):
        """A new file typed whole."""
        path = self.ws / rel
        path.write_text(text)
        self.edits += 1
        self.typed += len(text)
        self.typed_bare += sum(len(line.strip()) for line in text.splitlines())

    def change(self, rel, text):
        """An existing file edited into `text`: only added or changed lines are typed."""
        path = self.ws / rel
        old = path.read_text().splitlines(keepends=True)
        new = text.splitlines(keepends=True)
        added = [line[2:] for line in difflib.ndiff(old, new) if line.startswith("+ ")]
        path.write_text(text)
        self.edits += 1
        self.typed += sum(len(line) for line in added)
        self.typed_bare += sum(len(line.strip()) for line in added)


def by_hand(a):
    a.run("mkdir", "-p", f".skillet/skills/{NAME}/scripts")
    a.write(f".skillet/skills/{NAME}/skill.json", json.dumps(SKILL, indent=2) + "\n")
    a.write(f".skillet/skills/{NAME}/scripts/main.py", SCRIPT)
    a.run("chmod", "+x", f".skillet/skills/{NAME}/scripts/main.py")
    a.run("skillet", "validate", NAME)
    return a.run("skillet", "test", NAME, check=False)


def with_create(a):
    a.run("skillet", "create", NAME, "--template", "python-script",
          "--description", SKILL["description"])
    a.change(f".skillet/skills/{NAME}/skill.json", json.dumps(SKILL, indent=2) + "\n")
    a.change(f".skillet/skills/{NAME}/scripts/main.py", SCRIPT)
    return a.run("skillet", "test", NAME, check=False)


def scenario(skillet, how):
    with tempfile.TemporaryDirectory() as tmp:
        ws, home = Path(tmp) / "ws", Path(tmp) / "home"
        (ws / ".git").mkdir(parents=True)
        home.mkdir()
        env = {"PATH": os.environ["PATH"], "HOME": str(home),
               "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_DATA_HOME": str(home / ".local/share")}
        a = Author(skillet, ws, env)
        result = how(a)
        if result.returncode != 0:
            sys.exit(f"{how.__name__}: skillet test failed:\n{result.stdout}{result.stderr}")
        return a


def main():
    root = Path(__file__).resolve().parent.parent
    skillet = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else str(root / "target/release/skillet")
    if not Path(skillet).exists():
        skillet = str(root / "target/debug/skillet")
    rows = [("by hand", scenario(skillet, by_hand)),
            ("skillet create + test", scenario(skillet, with_create))]
    print(f"{'path':<24}{'commands':>9}{'edits':>7}{'typed chars':>13}{'no indent':>11}{'seconds':>9}")
    for label, a in rows:
        print(f"{label:<24}{a.commands:>9}{a.edits:>7}{a.typed:>13}{a.typed_bare:>11}{a.seconds:>9.2f}")
    hand, create = rows[0][1], rows[1][1]
    print(f"typed with create / by hand: {create.typed / hand.typed:.2f} "
          f"({create.typed_bare / hand.typed_bare:.2f} without indentation)")


if __name__ == "__main__":
    main()
