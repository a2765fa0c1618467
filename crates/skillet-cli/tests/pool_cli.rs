//! Warm pools end to end: `skillet run` of a pooled code_session skill goes to the real daemon
//! (started on demand), whose pool runs each input in a fresh namespace on a pre-started,
//! sandboxed interpreter; members are recycled, replaced when they die, and bounded by `max`.
//! Who else calls the pool (MCP, batch, --detach, confined processes) is in pool_callers.rs.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::pool::{call, idle, pids, pool, pooled};
use common::sessions::{eventually, session_skill};
use common::{World, interpreter};
use serde_json::json;

#[test]
fn a_python_value_set_by_one_call_is_not_seen_by_the_next() {
    let w = World::new();
    // One member, so every call lands on the interpreter the one before used.
    pooled(&w, "py", "python3", json!({"min_idle": 1, "max": 1}));
    let (code, _, err) = call(&w, "py", "x = 1\ndef f(): return 2\n");
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = call(&w, "py", "print(x)");
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("NameError") && err.contains("'x'"), "{err}");
    let (code, _, err) = call(&w, "py", "f()");
    assert!(code == 1 && err.contains("NameError"), "{err}");
    // The REPL's `_` (the last value shown) does not carry over either.
    assert_eq!(call(&w, "py", "41 + 1").1, "42\n");
    let (code, _, err) = call(&w, "py", "print(_)");
    assert!(code == 1 && err.contains("NameError"), "{err}");
    // What a call changes process-wide is put back: builtins added or replaced, the
    // environment, sys.path, the directory, the standard streams.
    let (code, _, err) = call(
        &w,
        "py",
        "import builtins, io, os, sys\nbuiltins.evil = 1\nbuiltins.len = lambda x: -1\n\
         del builtins.abs\nos.environ['LEAK'] = '1'\nsys.path.append('/leak')\n\
         os.chdir('/tmp')\nsys.stdout = io.StringIO()",
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = call(
        &w,
        "py",
        "import builtins, os, sys\nprint(hasattr(builtins, 'evil'), len('ab'), abs(-1), \
         os.environ.get('LEAK'), '/leak' in sys.path, os.getcwd())",
    );
    let ws = w.ws.canonicalize().unwrap();
    assert_eq!(
        (code, out),
        (0, format!("False 2 1 None False {}\n", ws.display())),
        "{err}"
    );
    // Names a call defines and reads itself work; the namespace holds only its own names.
    let (code, out, _) = call(
        &w,
        "py",
        "y = 2\nsorted(k for k in globals() if not k.startswith('__'))",
    );
    assert_eq!((code, out.as_str()), (0, "['y']\n"));
}

#[test]
fn module_state_set_by_one_call_is_not_seen_by_the_next() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"min_idle": 1, "max": 1}));
    // No interpreter serves two calls, so not even an imported module carries over.
    assert_eq!(call(&w, "py", "import json\njson.leak = 7").0, 0);
    assert_eq!(
        call(&w, "py", "import json\nprint(getattr(json, 'leak', None))").1,
        "None\n"
    );
}

#[test]
fn a_shell_call_runs_in_a_subshell_and_a_node_call_in_a_new_context() {
    let w = World::new();
    pooled(&w, "sh", "bash", json!({"min_idle": 1, "max": 1}));
    let (code, _, err) = call(&w, "sh", "X=5; cd /tmp; f() { echo hi; }; exit 3");
    assert_eq!(code, 3, "{err}");
    let (code, out, _) = call(
        &w,
        "sh",
        "echo \"${X:-unset} $PWD\"; type f >/dev/null 2>&1 || echo nof",
    );
    assert_eq!(code, 0);
    let ws = w.ws.canonicalize().unwrap();
    assert_eq!(out, format!("unset {}\nnof\n", ws.display()));
    let node = interpreter("node");
    if !std::path::Path::new(&node).is_file() {
        println!("SKIPPED: node: no node interpreter on this machine");
        return;
    }
    pooled(&w, "js", "node", json!({"min_idle": 1, "max": 1}));
    let (code, _, err) = call(
        &w,
        "js",
        "var z = 1; globalThis.g = 2; Array.prototype.evil = 1; \
         process.env.LEAK = '1'; process.chdir('/tmp')",
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = call(
        &w,
        "js",
        "[typeof z, typeof g, typeof [].evil, process.env.LEAK, process.cwd()].join(' ')",
    );
    assert_eq!(
        (code, out),
        (
            0,
            format!("'undefined undefined undefined  {}'\n", ws.display())
        ),
        "{err}"
    );
}

#[test]
fn a_member_killed_mid_call_reports_the_error_and_is_replaced() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"min_idle": 2, "max": 4}));
    assert_eq!(call(&w, "py", "1").0, 0);
    assert!(eventually(Duration::from_secs(20), || idle(&w, "py", 2)));
    let before = pids(&pool(&w, "py"));
    let (code, _, err) = call(
        &w,
        "py",
        "import os, signal\nprint('partial', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)",
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("interpreter") && err.contains("replaced"),
        "the call says its interpreter died: {err}"
    );
    // Back to min_idle, with a new member in place of the dead one.
    assert!(
        eventually(Duration::from_secs(20), || {
            let p = pool(&w, "py");
            p["idle"] == 2 && p["busy"] == 0 && pids(&p) != before
        }),
        "{}",
        pool(&w, "py")
    );
    let after = pids(&pool(&w, "py"));
    let gone: Vec<&u64> = before.iter().filter(|p| !after.contains(p)).collect();
    assert_eq!(gone.len(), 1, "one member died: {before:?} -> {after:?}");
    assert!(
        !std::path::Path::new(&format!("/proc/{}/cmdline", gone[0])).exists()
            || std::fs::read_to_string(format!("/proc/{}/stat", gone[0]))
                .is_ok_and(|s| s.contains(") Z ")),
        "the killed member is gone"
    );
    // The first call's member and the killed one: no member serves two calls.
    assert_eq!(pool(&w, "py")["recycled"], 2);
    assert_eq!(call(&w, "py", "print(6 * 7)").1, "42\n");
}

/// No member serves two calls (red team 5: whatever is reset between calls runs inside an
/// interpreter the last caller controlled). Each call takes over its member as hard as it can;
/// the next call, on another member, sees none of it.
#[test]
fn no_member_serves_two_calls_so_a_call_cannot_take_over_the_next() {
    let w = World::new();
    let takeovers = [
        (
            "bash",
            // Closes the subshell, redefines echo and printf in the member's own shell.
            "true\n)\necho() { builtin echo HIJACKED; }\nprintf() { builtin printf HIJACKED; }\n(\ntrue\n",
            "echo secret",
        ),
        (
            "node",
            "const G = require.constructor('return globalThis')(); \
             const o = G.__skillet_run_fresh; \
             G.__skillet_run_fresh = (s, t) => o('console.log(\"HIJACKED\")', t);",
            "console.log('secret')",
        ),
        (
            "python3",
            "import builtins\no = builtins.__skillet_run_fresh\n\
             builtins.__skillet_run_fresh = lambda *a, **k: o('print(\"HIJACKED\")', *a[1:], **k)",
            "print('secret')",
        ),
    ];
    for (program, takeover, next) in takeovers {
        if !std::path::Path::new(&interpreter(program)).is_file() {
            println!("SKIPPED: {program}: no such interpreter on this machine");
            continue;
        }
        let name = format!("p-{}", program.trim_end_matches('3'));
        pooled(&w, &name, program, json!({"min_idle": 1, "max": 1}));
        let _ = call(&w, &name, takeover);
        let first = pids(&pool(&w, &name));
        let (code, out, err) = call(&w, &name, next);
        assert_eq!((code, out.as_str()), (0, "secret\n"), "{program}: {err}");
        assert!(
            !pids(&pool(&w, &name)).iter().any(|p| first.contains(p)),
            "{program}: a member served a second call"
        );
    }
}

#[test]
fn a_pool_that_would_reuse_members_is_refused() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"recycle_after": 3}));
    let (code, _, err) = w.run(&["validate", ".skillet/skills/py.json"]);
    assert_ne!(code, 0);
    assert!(err.contains("recycle_after is 3, and must be 1"), "{err}");
}

#[test]
fn concurrent_calls_spread_across_members() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"min_idle": 3, "max": 3}));
    assert_eq!(call(&w, "py", "1").0, 0);
    assert!(eventually(Duration::from_secs(20), || idle(&w, "py", 3)));
    let started = Instant::now();
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let mut cmd = w.command(&assert_cmd::cargo::cargo_bin("skillet"));
            cmd.args([
                "run",
                "py",
                "--stdin",
                &format!("import time\ntime.sleep(2)\nprint({i})"),
            ]);
            std::thread::spawn(move || cmd.output().unwrap())
        })
        .collect();
    let mut busy_seen = 0;
    let mut pids_seen = std::collections::BTreeSet::new();
    while started.elapsed() < Duration::from_millis(1800) {
        let p = pool(&w, "py");
        busy_seen = busy_seen.max(p["busy"].as_u64().unwrap_or(0));
        if p["busy"] == 3 {
            pids_seen.extend(pids(&p));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let outs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let elapsed = started.elapsed();
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{i}\n"));
    }
    assert_eq!(busy_seen, 3, "three members answered at once");
    assert_eq!(pids_seen.len(), 3, "three distinct interpreters");
    assert!(
        elapsed < Duration::from_millis(5500),
        "the calls ran side by side, not one after another: {elapsed:?}"
    );
}

#[test]
fn a_flood_never_runs_more_than_max_at_once_and_loses_nothing() {
    let w = World::new();
    // The skill asks for 50; the user's cap on live interpreters of a skill holds it at 2.
    w.write(
        "~/.config/skillet/skillet.toml",
        "[defaults]\nmax_sessions = 2\n",
    );
    pooled(&w, "py", "python3", json!({"min_idle": 1, "max": 50}));
    let (code, _, err) = call(&w, "py", "1");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("max_sessions"), "the cap is told: {err}");
    let started = Instant::now();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let mut cmd = w.command(&assert_cmd::cargo::cargo_bin("skillet"));
            cmd.args([
                "run",
                "py",
                "--stdin",
                &format!("import time\ntime.sleep(0.5)\nprint('call', {i})"),
            ]);
            std::thread::spawn(move || cmd.output().unwrap())
        })
        .collect();
    let mut most = 0;
    let mut members = 0;
    while handles.iter().any(|h| !h.is_finished()) {
        let p = pool(&w, "py");
        most = most.max(p["busy"].as_u64().unwrap_or(0));
        members = members.max(pids(&p).len());
        std::thread::sleep(Duration::from_millis(50));
    }
    for (i, h) in handles.into_iter().enumerate() {
        let out = h.join().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("call {i}\n"),
            "every call is answered: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(most <= 2 && members <= 2, "busy {most}, members {members}");
    assert!(
        started.elapsed() >= Duration::from_millis(2000),
        "8 calls of 0.5 s on 2 members take 2 s at least: {:?}",
        started.elapsed()
    );
    assert_eq!(pool(&w, "py")["max"], 2);
}

#[test]
fn a_caller_killed_mid_call_does_not_cost_the_pool_its_member() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"min_idle": 1, "max": 1}));
    assert_eq!(call(&w, "py", "1").0, 0);
    for _ in 0..3 {
        let mut caller = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .args(["run", "py", "--stdin", "import time\ntime.sleep(2)"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        caller.kill().unwrap();
        let _ = caller.wait();
    }
    // With max 1, a member lost with each killed caller would leave nothing to serve this.
    let started = Instant::now();
    let (code, out, err) = call(&w, "py", "print('still here')");
    assert_eq!((code, out.as_str()), (0, "still here\n"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15));
    let p = pool(&w, "py");
    assert!(p["busy"] == 0 && pids(&p).len() <= 1, "{p}");
}

#[test]
fn an_unused_pool_ends_after_the_skills_idle_timeout() {
    let w = World::new();
    session_skill(
        &w,
        "py",
        &interpreter("python3"),
        json!({"session_config": {"idle_timeout": 1, "pool": {"min_idle": 2}}}),
    );
    assert_eq!(call(&w, "py", "1").0, 0);
    assert!(eventually(Duration::from_secs(20), || idle(&w, "py", 2)));
    let members = pids(&pool(&w, "py"));
    assert!(
        eventually(Duration::from_secs(10), || pool(&w, "py").is_null()),
        "{}",
        pool(&w, "py")
    );
    for pid in members {
        assert!(
            eventually(Duration::from_secs(5), || !std::path::Path::new(&format!(
                "/proc/{pid}/cmdline"
            ))
            .exists()),
            "member {pid} ended"
        );
    }
    // The next call gets a new pool.
    assert_eq!(call(&w, "py", "print(1)").1, "1\n");
}

#[test]
fn pools_that_cannot_be_reset_or_sized_are_refused_at_validation() {
    let w = World::new();
    session_skill(
        &w,
        "big",
        "python3",
        json!({"session_config": {"pool": {"min_idle": 5, "max": 2, "recycle_after": 0}}}),
    );
    session_skill(
        &w,
        "lines",
        "python3",
        json!({"session_config": {"protocol": "jsonl", "pool": {}}}),
    );
    let (code, _, err) = w.run(&["validate", "big"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("min_idle") && err.contains("recycle_after"),
        "{err}"
    );
    let (code, _, err) = w.run(&["validate", "lines"]);
    assert_ne!(code, 0);
    assert!(err.contains("reset recipe"), "{err}");
    // An interpreter skillet drives but cannot reset is refused when called.
    pooled(&w, "db", "sqlite3", json!({}));
    let (code, _, err) = call(&w, "db", "select 1;");
    assert_ne!(code, 0);
    assert!(err.contains("cannot be pooled"), "{err}");
}

#[test]
fn preload_runs_once_per_member_before_its_call_and_binds_no_names() {
    let w = World::new();
    pooled(
        &w,
        "py",
        "python3",
        json!({"min_idle": 1, "max": 1,
               "preload": "import json, time\njson.loaded_at = time.time()\nhidden = 1"}),
    );
    let (code, _, err) = w.run(&["validate", "py"]);
    assert_eq!(code, 0, "{err}");
    // What the preload imported is loaded (with what it did to the module), before the call.
    let (code, out, err) = call(
        &w,
        "py",
        "import json, sys, time\nprint('json' in sys.modules, time.time() > json.loaded_at)",
    );
    assert_eq!((code, out.as_str()), (0, "True True\n"), "{err}");
    // Names it bound are not in the call's namespace.
    let (code, _, err) = call(&w, "py", "print(hidden)");
    assert!(code == 1 && err.contains("NameError"), "{err}");
    // A preload that fails is reported, named, by the call that needed the member.
    pooled(
        &w,
        "bad",
        "python3",
        json!({"min_idle": 1, "max": 1, "preload": "import no_such_module_here"}),
    );
    let (code, _, err) = call(&w, "bad", "print(1)");
    assert_ne!(code, 0);
    assert!(
        err.contains("preload") && err.contains("no_such_module_here"),
        "{err}"
    );
    // An empty preload is refused at validation.
    pooled(&w, "empty", "python3", json!({"preload": " "}));
    let (code, _, err) = w.run(&["validate", "empty"]);
    assert_ne!(code, 0);
    assert!(err.contains("preload is empty"), "{err}");
    // A shell pool's warm-up (and an empty call) runs: `( )` alone would end the shell.
    pooled(&w, "sh", "bash", json!({"min_idle": 1, "max": 1}));
    assert_eq!(call(&w, "sh", "").0, 0);
    assert_eq!(call(&w, "sh", "echo hi").1, "hi\n");
}

/// The processes of this test's pool members (found by a marker in their environment).
fn marked(mark: &str) -> Vec<u32> {
    let needle = format!("POOL_MARK={mark}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == needle.as_bytes()))
        })
        .collect()
}

#[test]
fn an_idle_daemon_exits_and_ends_every_member_even_one_still_starting() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        "[daemon]\nidle_timeout = 1\n",
    );
    let mark = format!("{}", std::process::id());
    session_skill(
        &w,
        "py",
        &interpreter("python3"),
        json!({"env": {"POOL_MARK": mark}, "timeout": 120,
               "session_config": {"pool": {"min_idle": 2, "max": 4,
                   // Members past the first are still starting when the daemon goes idle.
                   "preload": "import os, time\nif os.path.exists('slow'): time.sleep(60)"}}}),
    );
    assert_eq!(call(&w, "py", "1").0, 0);
    assert!(eventually(Duration::from_secs(20), || idle(&w, "py", 2)));
    // The replacement of the member the next call uses stays in its preload.
    w.write("slow", "");
    let (code, _, err) = call(&w, "py", "print(1)");
    assert_eq!(code, 0, "{err}");
    // The idle member, and the replacement sleeping in its preload.
    assert!(eventually(Duration::from_secs(5), || marked(&mark).len() >= 2));
    let sock = w.tmp.path().join("run/skillet/skillet.sock");
    // A pool does not keep the daemon up: it exits by the idle rule for sessions.
    assert!(
        eventually(Duration::from_secs(20), || !sock.exists()),
        "the daemon stayed up with only a pool"
    );
    assert!(
        eventually(Duration::from_secs(5), || marked(&mark).is_empty()),
        "members outlived the daemon: {:?}",
        marked(&mark)
    );
}
