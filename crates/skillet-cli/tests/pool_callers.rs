//! Who calls a warm pool besides `skillet run`: an MCP client (the official Python SDK), a
//! `skillet batch`, a `--detach` job, the history that records them, and a confined process,
//! which is refused. Real daemon, real interpreters.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::pool::{call, pids, pool, pooled};
use common::{World, interpreter};
use serde_json::{Value, json};

#[test]
fn a_pooled_call_is_recorded_in_the_history() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"min_idle": 1}));
    let out = w
        .skillet()
        .args(["run", "py", "--json"])
        .write_stdin("print('hi')")
        .output()
        .unwrap();
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (result["status"].as_str(), result["stdout"].as_str()),
        (Some("ok"), Some("hi\n"))
    );
    let (code, out, err) = w.run(&["history", "--json"]);
    assert_eq!(code, 0, "{err}");
    let history: Value = serde_json::from_str(&out).unwrap();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == result["execution_id"] && e["status"] == "ok"),
        "{out}"
    );
}

/// Runs tests/mcp/pool.py's `scenario` against `skillet mcp` in `w`; returns its summary.
fn mcp_scenario(w: &World, scenario: &str) -> Value {
    let (code, _, err) = w.run(&["trust"]);
    assert_eq!(code, 0, "{err}");
    let out = w
        .command(&common::mcp::python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/pool.py"))
        .args(["--scenario", scenario])
        .args([
            "--target",
            &assert_cmd::cargo::cargo_bin("skillet")
                .display()
                .to_string(),
            "--ws",
        ])
        .arg(&w.ws)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap()
}

#[test]
fn an_mcp_call_with_input_and_no_session_id_runs_statelessly_on_the_pool() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"min_idle": 1, "max": 2}));
    let summary = mcp_scenario(&w, "stateless");
    // Recorded as a run, asked by MCP.
    let (_, history, _) = w.run(&["history", "--json"]);
    let history: Value = serde_json::from_str(&history).unwrap();
    let run = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == summary["pooled"])
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (run["status"].as_str(), run["origin"].as_str()),
        (Some("ok"), Some("mcp")),
        "{run}"
    );
}

#[test]
fn an_mcp_call_cancelled_mid_run_gives_its_place_in_the_pool_back() {
    let w = World::new();
    // One member at most: a place lost with the cancelled call would leave none.
    pooled(&w, "py", "python3", json!({"min_idle": 1, "max": 1}));
    let summary = mcp_scenario(&w, "cancel");
    assert!(summary["next_call_s"].as_f64().unwrap() < 15.0, "{summary}");
}

#[test]
fn a_confined_process_cannot_call_the_pool() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"min_idle": 1}));
    assert_eq!(call(&w, "py", "1").0, 0);
    let sock = w.tmp.path().join("run/skillet/skillet.sock");
    // A client that confines itself first, as anything run in a skillet sandbox is:
    // no_new_privs (prctl 38), then the raw request.
    let client = r#"import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["SOCK"])
s.sendall(os.environ["REQ"].encode() + b"\n")
print(s.makefile().readline().strip())
"#;
    for overrides in [json!({}), json!({"unsandboxed": true}), json!("garbage")] {
        let request = json!({"id": 1, "method": "pool.run", "params": {
            "skill": "py", "stdin": "print('ran')", "caller_dir": w.ws, "overrides": overrides}});
        let out = std::process::Command::new(interpreter("python3"))
            .args(["-c", client])
            .env("SOCK", &sock)
            .env("REQ", request.to_string())
            .output()
            .unwrap();
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "{} {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(
            answer["error"]["code"], "forbidden",
            "{overrides}: {answer}"
        );
        assert!(answer["result"].is_null(), "{answer}");
    }
    assert_eq!(pool(&w, "py")["calls"], 1, "no confined call ran");
}

#[test]
fn a_batch_of_pooled_calls_shares_warm_interpreters_without_sharing_state() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"min_idle": 1, "max": 2}));
    let calls: String = (0..6)
        .map(|i| {
            let code = if i % 2 == 0 {
                format!("x = {i}\nprint('set', x)")
            } else {
                "print(x)".to_owned()
            };
            format!("{}\n", json!({"skill": "py", "stdin": code}))
        })
        .collect();
    let out = w
        .skillet()
        .args(["batch", "-", "--json", "--ordered"])
        .write_stdin(calls)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let results: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(
        results.len(),
        6,
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, r) in results.iter().enumerate() {
        let r = if r["result"].is_object() {
            &r["result"]
        } else {
            r
        };
        if i % 2 == 0 {
            assert_eq!(r["stdout"], format!("set {i}\n"), "{r}");
        } else {
            assert!(
                r["status"] == "failed" && r["stderr"].as_str().unwrap().contains("NameError"),
                "call {i} saw another call's x: {r}"
            );
        }
    }
}

#[test]
fn a_detached_run_of_a_pooled_skill_runs_on_the_daemons_pool() {
    let w = World::new();
    pooled(&w, "py", "python3", json!({"min_idle": 1, "max": 1}));
    // Warm the daemon's pool first: the job must land on that same member.
    assert_eq!(call(&w, "py", "x = 1").0, 0);
    let before = pids(&pool(&w, "py"));
    let (code, id, err) = w.run(&["run", "py", "--detach", "--stdin", "print(6 * 7)"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = w.run(&["jobs", "wait", id.trim(), "--json", "--timeout", "60"]);
    assert_eq!(code, 0, "{err}");
    let waited: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(waited["stdout"], "42\n", "{waited}");
    let p = pool(&w, "py");
    assert_eq!((p["calls"].as_u64(), pids(&p)), (Some(2), before), "{p}");
    // Statelessly, as any pooled call.
    let (_, id, _) = w.run(&["run", "py", "--detach", "--stdin", "print(x)"]);
    let (_, out, _) = w.run(&["jobs", "wait", id.trim(), "--json", "--timeout", "60"]);
    let waited: Value = serde_json::from_str(&out).unwrap();
    assert!(
        waited["stderr"].as_str().unwrap().contains("NameError"),
        "{waited}"
    );
}

/// A pool is made per skill, workspace, grant and parameter set: without a bound across them,
/// calls that vary keep `min_idle` interpreters alive per variant. The user's
/// `[daemon] max_warm_interpreters` holds them all; the pools used least recently give up their
/// idle members first, and every call is still served.
#[test]
fn warm_members_across_all_pools_stay_under_the_users_cap() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        "[daemon]\nmax_warm_interpreters = 3\n",
    );
    let names: Vec<String> = (0..6).map(|n| format!("py{n}")).collect();
    for name in &names {
        pooled(&w, name, "python3", json!({"min_idle": 2, "max": 2}));
    }
    let warm = |w: &World| -> (u64, Vec<u64>) {
        let (code, out, err) = w.run(&["daemon", "status", "--json"]);
        assert_eq!(code, 0, "{err}");
        let status: Value = serde_json::from_str(&out).unwrap();
        let pools = status["daemon"]["pools"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let idle: Vec<u64> = pools
            .iter()
            .map(|p| p["idle"].as_u64().unwrap_or(0))
            .collect();
        (idle.iter().sum(), idle)
    };
    for name in &names {
        let (code, out, err) = call(&w, name, "print(6 * 7)");
        assert_eq!((code, out.trim()), (0, "42"), "{name}: {err}");
        // Replacements start after each answer: let them settle, then count.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (total, each) = warm(&w);
        assert!(total <= 3, "after {name}: {each:?}");
    }
    // The pool called last is the one kept warm.
    assert!(
        common::sessions::eventually(std::time::Duration::from_secs(10), || {
            pool(&w, "py5")["idle"].as_u64() == Some(2)
        }),
        "{}",
        pool(&w, "py5")
    );
    assert!(warm(&w).0 <= 3, "{:?}", warm(&w).1);
}
