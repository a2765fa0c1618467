//! `skillet run --debug` and `--profile`, as a user sees them: what answered, the process and
//! its sandbox, every attempt and where the time went; never a secret from the environment.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use serde_json::{Value, json};

/// A token of the shape GitHub issues, 40 characters.
const TOKEN: &str = "ghp_Zq8xW3vN5mK7pL2rT9yB4cF6hJ1dS0aE3uIo";
/// The same secret under a name that does not look secret.
const INNOCENT: &str = "plain-looking-value-that-is-a-secret-9f3a";

fn run(w: &World, args: &[&str]) -> (i32, String, String) {
    let out = w
        .skillet()
        .env("GITHUB_TOKEN", TOKEN)
        .env("MY_SETTING", INNOCENT)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_of(stdout: &str, stderr: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"))
}

/// A skill that proves it got the variables (their lengths) without printing them.
fn env_skill(w: &World) {
    w.skill(
        "envy",
        json!({"name": "envy", "description": "d", "type": "code_inline", "command": "sh",
               "args": ["-c", "printenv GITHUB_TOKEN | wc -c; printenv MY_SETTING | wc -c"],
               "parameters": [{"name": "n", "type": "integer", "default": 3},
                              {"name": "who", "type": "string"}]}),
    );
}

fn no_secret(what: &str, text: &str) {
    assert!(!text.contains(TOKEN), "{what} shows the token:\n{text}");
    assert!(
        !text.contains(INNOCENT),
        "{what} shows MY_SETTING's value:\n{text}"
    );
    // Not even a piece of it.
    assert!(!text.contains(&TOKEN[4..20]), "{what}:\n{text}");
}

#[test]
fn a_secret_granted_with_allow_env_never_appears_in_debug_text_or_json() {
    let w = World::new();
    env_skill(&w);
    let grant = [
        "run",
        "envy",
        "--param",
        "who=me",
        "--allow-env",
        "GITHUB_TOKEN",
        "--allow-env",
        "MY_SETTING",
        "--debug",
    ];
    let (code, stdout, stderr) = run(&w, &grant);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // Passed to the skill (40 characters and a newline each)...
    assert_eq!(
        stdout.split_whitespace().collect::<Vec<_>>(),
        ["41", "42"],
        "{stderr}"
    );
    // ...named, measured and masked in the report, which is all on stderr.
    assert!(
        stderr.contains("env:     GITHUB_TOKEN=<from your environment, 40 chars>"),
        "{stderr}"
    );
    assert!(
        stderr.contains("env:     MY_SETTING=<from your environment, 41 chars>"),
        "{stderr}"
    );
    // The user's own parameters are theirs to see, after checking.
    assert!(
        stderr.contains("env:     SKILL_PARAM_WHO=\"me\""),
        "{stderr}"
    );
    assert!(stderr.contains("n (integer) = 3  [default]"), "{stderr}");
    no_secret("--debug text", &stderr);
    no_secret("the skill's output", &stdout);

    let mut with_json = grant.to_vec();
    with_json.push("--json");
    let (code, stdout, stderr) = run(&w, &with_json);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    no_secret("--debug --json", &stdout);
    no_secret("--debug --json stderr", &stderr);
    let r = json_of(&stdout, &stderr);
    let env = r["debug"]["plan"]["process"]["env"].as_array().unwrap();
    let token = env.iter().find(|v| v["name"] == "GITHUB_TOKEN").unwrap();
    assert_eq!(token["from"], "your_environment", "{token}");
    assert!(token.get("value").is_none(), "{token}");
    assert_eq!(token["shown"], "<from your environment, 40 chars>");

    // A dry run describes the same process the same way.
    let mut dry = grant.to_vec();
    dry.push("--dry-run");
    let (code, stdout, stderr) = run(&w, &dry);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("env:     GITHUB_TOKEN=<from your environment, 40 chars>"),
        "{stdout}"
    );
    no_secret("--dry-run", &stdout);
    dry.push("--json");
    let (_, stdout, stderr) = run(&w, &dry);
    no_secret("--dry-run --json", &stdout);
    let plan = json_of(&stdout, &stderr);
    assert!(plan["env"].to_string().contains("40 chars"), "{plan}");
}

#[test]
fn the_policy_shows_the_workspace_mount_and_the_network_rule() {
    let w = World::new();
    w.skill(
        "hi",
        json!({"name": "hi", "description": "d", "type": "code_inline", "command": "echo",
               "args": ["hi"]}),
    );
    let ws = std::fs::canonicalize(&w.ws).unwrap().display().to_string();
    let (code, stdout, stderr) = w.run(&["run", "hi", "--debug"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "hi\n", "stdout stays the skill's output");
    assert!(
        stderr.contains(&format!("mount:   {ws}  bound by handle, read-only")),
        "{stderr}"
    );
    assert!(stderr.contains("network: none"), "{stderr}");
    assert!(
        stderr.contains("landlock: TCP bind and connect: denied"),
        "{stderr}"
    );
    assert!(
        stderr.contains("seccomp: EAFNOSUPPORT: every socket family but AF_UNIX"),
        "{stderr}"
    );
    assert!(stderr.contains("limits:  30 s"), "{stderr}");
    // Which file answered.
    let file = std::fs::canonicalize(w.path(".skillet/skills/hi.json")).unwrap();
    assert!(
        stderr.contains(&file.display().to_string()) && stderr.contains("(workspace)"),
        "{stderr}"
    );

    let (code, r) = w.run_json(&["hi", "--debug"]);
    assert_eq!(code, 0, "{r}");
    let policy = &r["debug"]["plan"]["policy"];
    let mounts = policy["mounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["path"] == ws.as_str() && m["how"].as_str().unwrap().contains("read-only")),
        "{policy}"
    );
    assert_eq!(policy["network"], "none");
    assert!(
        r["debug"]["layers"]["active"].as_array().is_some(),
        "the layers the run had: {r}"
    );

    // Granted, the network rule says so.
    let (code, r) = w.run_json(&["hi", "--debug", "--allow-net"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(
        r["debug"]["plan"]["policy"]["network"], "host network",
        "{r}"
    );
    assert!(
        !r["debug"]["plan"]["policy"]["seccomp"]
            .to_string()
            .contains("AF_UNIX"),
        "{r}"
    );
}

/// `skillet info` and the plan of a run describe one policy: the same lines, the same JSON.
#[test]
fn info_and_a_dry_run_describe_the_policy_alike() {
    let w = World::new();
    w.skill(
        "hi",
        json!({"name": "hi", "description": "d", "type": "code_inline", "command": "echo",
               "args": ["hi"], "security": {"resource_limits": {"max_cpu_percent": 50}}}),
    );
    let (code, info, stderr) = w.run(&["info", "hi"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, plan, stderr) = w.run(&["run", "hi", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    let value = |text: &str, label: &str| -> String {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{label}:")))
            .unwrap_or_else(|| panic!("no {label} line in:\n{text}"));
        line[label.len() + 1..].trim().to_owned()
    };
    for label in ["sandbox", "reads", "writes", "network", "limits"] {
        assert_eq!(value(&info, label), value(&plan, label), "{label}");
    }
    assert!(
        value(&info, "limits").ends_with("MiB scratch, 50% of a core"),
        "{info}"
    );

    let (code, info, stderr) = w.run(&["info", "hi", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, plan, stderr) = w.run(&["run", "hi", "--dry-run", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        json_of(&info, "")["effective"]["policy"],
        json_of(&plan, "")["policy"]
    );
}

fn phases(p: &Value) -> Vec<(String, u64)> {
    p["phases_us"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

#[test]
fn phases_sum_to_no_more_than_wall_and_a_sleep_shows_in_process() {
    let w = World::new();
    w.skill(
        "nap",
        json!({"name": "nap", "description": "d", "type": "code_inline", "command": "sleep",
               "args": ["0.3"]}),
    );
    let (code, r) = w.run_json(&["nap", "--profile"]);
    assert_eq!(code, 0, "{r}");
    let p = &r["profile"];
    let wall = p["wall_us"].as_u64().unwrap();
    let all = phases(p);
    let sum: u64 = all.iter().map(|(_, us)| us).sum();
    assert!(sum <= wall, "phases {sum} us > wall {wall} us: {p}");
    let process = p["phases_us"]["process"].as_u64().unwrap();
    // The program's start is when skillet hears of its exec: on a loaded machine a little of
    // the sleep may fall before it, into sandbox_setup, never the other way round.
    assert!(process >= 200_000, "the sleep is the skill's time: {p}");
    assert!(
        process + p["phases_us"]["sandbox_setup"].as_u64().unwrap() >= 300_000,
        "{p}"
    );
    for (name, us) in &all {
        if name != "process" {
            assert!(*us < process, "{name} holds the skill's sleep: {p}");
        }
    }
    for name in ["resolve", "validate", "teardown", "store", "retry_wait"] {
        assert!(
            p["phases_us"][name].as_u64().unwrap() < 200_000,
            "{name} holds the sleep: {p}"
        );
    }
    assert!(p["cpu_us"].as_u64().is_some(), "{p}");
    assert!(p["peak_memory_kb"].as_u64().unwrap() > 0, "{p}");
    assert!(r.get("debug").is_none(), "--profile alone: {r}");

    // As text, on stderr, with the skill's output alone on stdout.
    let (code, stdout, stderr) = w.run(&["run", "nap", "--profile"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("skillet profile: wall "), "{stderr}");
    let process_line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("process "))
        .unwrap_or_else(|| panic!("{stderr}"));
    let ms: f64 = process_line
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(ms >= 200.0, "{process_line}");
}

#[test]
fn retries_show_each_attempt_and_why() {
    let w = World::new();
    w.skill(
        "flaky",
        json!({"name": "flaky", "description": "d", "type": "code_inline", "command": "sh",
               "args": ["-c", "exit 3"],
               "retry": {"max_attempts": 3, "initial_backoff_ms": 20, "max_backoff_ms": 40}}),
    );
    let (code, r) = w.run_json(&["flaky", "--debug", "--profile"]);
    assert_eq!(code, 3, "{r}");
    let attempts = r["debug"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{r}");
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(a["attempt"], i + 1, "{a}");
        assert_eq!(a["status"], "failed", "{a}");
        assert_eq!(a["exit_code"], 3, "{a}");
    }
    for a in &attempts[..2] {
        assert!(a["retry_after_ms"].as_u64().is_some(), "{a}");
        assert!(a["note"].as_str().unwrap().contains("exit code 3"), "{a}");
    }
    assert!(attempts[2].get("retry_after_ms").is_none());
    let ids: std::collections::BTreeSet<_> = attempts
        .iter()
        .map(|a| a["execution_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "each attempt is its own execution");
    assert_eq!(r["profile"]["attempts"], 3);
    assert!(
        r["profile"]["phases_us"]["retry_wait"].as_u64().unwrap() > 0,
        "{r}"
    );

    let (_, _, stderr) = w.run(&["run", "flaky", "--debug"]);
    for n in ["#1 flaky: failed (exit code 3)", "#2 flaky", "#3 flaky"] {
        assert!(stderr.contains(n), "{n}: {stderr}");
    }
    assert_eq!(
        stderr.matches("\n     retried after").count(),
        2,
        "{stderr}"
    );
}

#[test]
fn a_refused_run_still_explains_itself() {
    let w = World::new();
    w.skill(
        "typed",
        json!({"name": "typed", "description": "d", "type": "code_inline", "command": "echo",
               "parameters": [{"name": "n", "type": "integer", "required": true}]}),
    );
    let (code, r) = w.run_json(&["typed", "--param", "n=many", "--debug", "--profile"]);
    assert_eq!(code, 2, "{r}");
    assert_eq!(r["status"], "invalid_params");
    assert_eq!(r["debug"]["attempts"][0]["status"], "invalid_params", "{r}");
    assert!(r["debug"].get("plan").is_none(), "nothing was planned: {r}");
    assert!(r["profile"].get("cpu_us").is_none(), "nothing ran: {r}");
}
