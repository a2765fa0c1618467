#!/usr/bin/env python3
"""End-to-end cost of the command-line fast path, timed the way a shell sees it.

Every line is a whole process (or, for MCP, a whole request on a fresh server), started from this
harness, run to completion and reaped. The lines take turns: each round runs every line once, in
a rotating order, so that drift in a shared machine's load touches them alike. Lines:

- `/bin/true`                         the anchor for process start-up
- bwrap (Codex-style)                 `bwrap --unshare-all --die-with-parent --ro-bind / /
                                      --dev /dev --proc /proc /bin/true` (skipped with a note when
                                      bubblewrap is missing or cannot make namespaces here)
- `skillet run noop --allow-unsandboxed`  the runner alone (no sandbox)
- `skillet run noop`                  the full default sandbox around `/bin/true`
- MCP first / later call              a fresh `skillet mcp` on stdio per round: `initialize`, then
                                      `tools/call noop` timed from write to answer, the first call
                                      and then the median of the next four

Prints median and p90 of each line (and the median CPU time of the process lines), the overheads over `/bin/true`, and the ratios the targets of
docs/performance.md are stated in. `--json` prints the same as JSON.

The binaries timed are installed copies of the ones named, as `cargo install` leaves them;
`--as-built` times the files themselves (see `installed_copy` in cli_bench.py: right after a
build, the linker's file starts slower).

Usage: bench/e2e.py [--skillet target/release/skillet] [--runs 100] [--mcp-rounds 30] [--json]
                    [--baseline OLD_BUILD [--same-store]] [--as-built]
Build first: cargo build --release -p skillet-cli
Run as root and as an unprivileged user: the sandbox takes different paths (see docs/sandbox.md).
"""

import argparse
import json
import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli_bench import installed_copy  # this script's directory is on sys.path

BWRAP_ARGS = ["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev",
              "--proc", "/proc", "/bin/true"]


def summary(samples):
    """Median and 90th percentile of `samples` (milliseconds)."""
    s = sorted(samples)
    return statistics.median(s), s[max(0, int(len(s) * 0.9) - 1)]


def time_process(cmd, cwd, env):
    """(wall ms from spawn to reap, CPU ms of the process and its children); exits on a failure.

    CPU time (user + system, from wait4) moves much less than wall time when the machine is
    shared: it is the figure to compare when other work competes for the cores."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n"
                 f"{stderr.decode(errors='replace')}")
    return elapsed, (usage.ru_utime + usage.ru_stime) * 1000


class McpClient:
    """A fresh `skillet mcp` on stdio, spoken to in raw JSON-RPC lines."""

    def __init__(self, skillet, cwd, env):
        self.proc = subprocess.Popen([skillet, "mcp"], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.next_id = 1

    def request(self, method, params):
        """Sends one request and returns (answer, ms from write to the answer's last byte)."""
        rid = self.next_id
        self.next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        start = time.perf_counter()
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        while True:
            msg = self._read_line()
            if msg.get("id") == rid:
                return msg, (time.perf_counter() - start) * 1000

    def notify(self, method):
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": method}).encode() + b"\n")
        self.proc.stdin.flush()

    def _read_line(self):
        while b"\n" not in self.buf:
            if not self.sel.select(timeout=30):
                sys.exit("skillet mcp did not answer within 30 s")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                sys.exit("skillet mcp closed its output")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def mcp_round(skillet, cwd, env, later_calls=4, pause=0.0):
    """One fresh server: (first call ms, median of the next `later_calls` calls ms)."""
    client = McpClient(skillet, cwd, env)
    try:
        init, _ = client.request("initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "e2e-bench", "version": "1"}})
        if "error" in init:
            sys.exit(f"initialize failed: {init['error']}")
        client.notify("notifications/initialized")
        # An agent connects at the start of its session and calls a tool later; 0 (the
        # default) sends the first call at once, the worst case.
        time.sleep(pause)
        times = []
        for _ in range(1 + later_calls):
            answer, ms = client.request("tools/call", {"name": "noop", "arguments": {}})
            result = answer.get("result") or {}
            if "error" in answer or result.get("isError"):
                sys.exit(f"tools/call noop failed: {answer}")
            times.append(ms)
        return times[0], statistics.median(times[1:])
    finally:
        client.close()


def make_workspace(root: Path):
    """A git-rooted workspace with ten small skills and `noop` (runs /bin/true), its own home."""
    home, ws = root / "home", root / "ws"
    (ws / ".git").mkdir(parents=True)
    skills = ws / ".skillet" / "skills"
    skills.mkdir(parents=True)
    home.mkdir()
    for i in range(10):
        (skills / f"skill-{i}.json").write_text(json.dumps({
            "name": f"skill-{i}", "description": f"filler {i}", "type": "code_inline",
            "command": "wc", "args": ["-l", "{file}"],
            "parameters": [{"name": "file", "type": "path", "required": True}]}))
    (skills / "noop.json").write_text(json.dumps(
        {"name": "noop", "description": "runs /bin/true", "type": "code_inline", "command": "/bin/true"}))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share")}
    if os.environ.get("XDG_RUNTIME_DIR"):
        env["XDG_RUNTIME_DIR"] = os.environ["XDG_RUNTIME_DIR"]
    return ws, env


def bwrap_line(env, cwd):
    """The bwrap command, or None with the reason it cannot run here."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return None, "bubblewrap not installed (apt-get install bubblewrap)"
    probe = subprocess.run([bwrap, *BWRAP_ARGS], cwd=cwd, env=env, capture_output=True, check=False)
    if probe.returncode != 0:
        return None, f"bwrap cannot run here: {probe.stderr.decode(errors='replace').strip()}"
    return [bwrap, *BWRAP_ARGS], None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skillet", default="target/release/skillet")
    parser.add_argument("--runs", type=int, default=100, help="rounds of the process lines")
    parser.add_argument("--mcp-rounds", type=int, default=30, help="fresh `skillet mcp` servers")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--mcp-pause", type=float, default=0.0,
                        help="seconds between `initialize` and the first call (default 0)")
    parser.add_argument("--baseline", help="another skillet build whose run lines take turns with these")
    parser.add_argument("--same-store", action="store_true",
                        help="the baseline records into the same database (only when both builds "
                             "have the same schema): the two lines then share its size and its "
                             "checkpoints, which a database each does not")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--as-built", action="store_true",
                        help="time the binary where the build left it, not an installed copy "
                             "(right after a build, that file starts slower; see installed_copy)")
    args = parser.parse_args()
    skillet = str(Path(args.skillet).resolve())
    if not Path(skillet).is_file():
        sys.exit(f"{skillet} not found; build it with `cargo build --release -p skillet-cli`")

    with tempfile.TemporaryDirectory(prefix="skillet-e2e-") as tmp:
        if not args.as_built:
            skillet = installed_copy(skillet, tmp)
        ws, env = make_workspace(Path(tmp))
        # The CLI trusts the workspace it is run in; MCP serves only trusted workspace skills.
        subprocess.run([skillet, "trust"], cwd=ws, env=env, capture_output=True, check=False)
        lines = {"/bin/true": ["/bin/true"]}
        bwrap, bwrap_note = bwrap_line(env, ws)
        if bwrap:
            lines["bwrap (Codex-style)"] = bwrap
        lines["skillet run --allow-unsandboxed"] = [skillet, "run", "noop", "--allow-unsandboxed"]
        lines["skillet run (sandboxed)"] = [skillet, "run", "noop"]
        if args.baseline:
            base = str(Path(args.baseline).resolve())
            if not args.as_built:
                base = installed_copy(base, Path(tmp) / "baseline")
            lines["baseline run --allow-unsandboxed"] = [base, "run", "noop", "--allow-unsandboxed"]
            lines["baseline run (sandboxed)"] = [base, "run", "noop"]
            # A database of its own unless asked: an older build refuses (and skips recording in)
            # a newer one.
            base_env = env if args.same_store else dict(env, XDG_DATA_HOME=str(Path(tmp) / "baseline-data"))
        names = list(lines)
        line_env = {n: base_env if n.startswith("baseline") else env for n in names}
        samples = {n: [] for n in names}
        cpu = {n: [] for n in names}
        for _ in range(args.warmup):
            for n in names:
                time_process(lines[n], ws, line_env[n])
        for i in range(args.runs):
            # Rotate the order so no line always follows the same one.
            for n in names[i % len(names):] + names[:i % len(names)]:
                wall, used = time_process(lines[n], ws, line_env[n])
                samples[n].append(wall)
                cpu[n].append(used)

        first, later, base_first, base_later = [], [], [], []
        mcp_round(skillet, ws, env)  # warm-up: page cache, database
        for _ in range(args.mcp_rounds):
            f, l = mcp_round(skillet, ws, env, pause=args.mcp_pause)
            first.append(f)
            later.append(l)
            if args.baseline:
                f, l = mcp_round(base, ws, base_env, pause=args.mcp_pause)
                base_first.append(f)
                base_later.append(l)

    result = {"runs": args.runs, "mcp_rounds": args.mcp_rounds, "uid": os.getuid(), "lines": {}}
    for n in names:
        med, p90 = summary(samples[n])
        result["lines"][n] = {"median_ms": round(med, 3), "p90_ms": round(p90, 3),
                              "cpu_median_ms": round(statistics.median(cpu[n]), 3)}
    mcp_lines = [("mcp first call", first), ("mcp later call", later)]
    if args.baseline:
        mcp_lines += [("baseline mcp first call", base_first), ("baseline mcp later call", base_later)]
    for n, s in mcp_lines:
        med, p90 = summary(s)
        result["lines"][n] = {"median_ms": round(med, 3), "p90_ms": round(p90, 3)}
    if bwrap_note:
        result["bwrap_skipped"] = bwrap_note
    med = {n: v["median_ms"] for n, v in result["lines"].items()}
    true_ms = med["/bin/true"]
    ratios = {
        "unsandboxed overhead over /bin/true (ms, target < 2)":
            med["skillet run --allow-unsandboxed"] - true_ms,
        "sandboxed overhead over /bin/true (ms, target < 3)": med["skillet run (sandboxed)"] - true_ms,
        "mcp first / later call (target <= 1.5)": med["mcp first call"] / med["mcp later call"],
    }
    if bwrap:
        ratios["skillet run (sandboxed) / bwrap (target < 1)"] = (
            med["skillet run (sandboxed)"] / med["bwrap (Codex-style)"])
    result["ratios"] = {k: round(v, 3) for k, v in ratios.items()}

    if args.json:
        print(json.dumps(result, indent=2))
        return
    who = "root" if os.getuid() == 0 else f"uid {os.getuid()}"
    print(f"{args.runs} rounds, lines taking turns; MCP: {args.mcp_rounds} fresh servers; as {who}")
    for n, v in result["lines"].items():
        cpu_note = f"   CPU {v['cpu_median_ms']:7.3f} ms" if "cpu_median_ms" in v else ""
        print(f"  {n:34} median {v['median_ms']:8.3f} ms   p90 {v['p90_ms']:8.3f} ms{cpu_note}")
    if bwrap_note:
        print(f"  bwrap line skipped: {bwrap_note}")
    for k, v in result["ratios"].items():
        print(f"  {k:58} {v:7.3f}")


if __name__ == "__main__":
    main()
