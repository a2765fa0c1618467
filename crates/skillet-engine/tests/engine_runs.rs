//! The engine end to end: skills discovered in a real workspace, run as real sandboxed
//! processes, recorded in a real SQLite history, as the CLI, the MCP server and the daemon use it.

mod common;

use common::{Workspace, sandbox_missing, skill};
use serde_json::json;
use skillet_engine::{Hint, Status};

#[test]
fn a_code_skill_runs_in_the_sandbox_and_is_recorded() {
    let ws = Workspace::with(&[skill(
        "greet",
        json!({"command": "sh", "args": ["-c", "printf 'hi %s from %s' \"$SKILL_PARAM_WHO\" \"$PWD\""],
               "parameters": [{"name": "who", "type": "string", "required": true}]}),
    )]);
    let result = ws.run("greet", json!({"who": "ada"}));
    if sandbox_missing(&result) {
        return;
    }
    assert_eq!(result.status, Status::Ok, "{result:?}");
    assert_eq!(
        result.stdout,
        format!("hi ada from {}", ws.root.display()),
        "runs where the caller is, with the value in its environment"
    );
    assert_eq!(result.exit_code, Some(0));
    let rows = ws.history("greet");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.id, result.execution_id);
    assert_eq!(row.status, "ok");
    assert_eq!(row.exit_code, Some(0));
    assert_eq!(row.attempt, 1);
    assert_eq!(row.scope.as_deref(), Some("workspace"));
    assert!(
        row.params_hash
            .as_deref()
            .is_some_and(|h| h.starts_with("hmac-sha256:")),
        "{row:?}"
    );
    assert_eq!(
        row.params, None,
        "values are not stored unless the user asks"
    );
    assert!(row.finished_at_ms >= row.started_at_ms, "{row:?}");
}

#[test]
fn a_failing_skill_is_retried_and_every_attempt_is_recorded() {
    let ws = Workspace::with(&[skill(
        "flaky",
        json!({"command": "sh", "args": ["-c", "echo attempt >&2; exit 3"],
               "retry": {"max_attempts": 3, "initial_backoff_ms": 1, "max_backoff_ms": 2}}),
    )]);
    let result = ws.run("flaky", json!({}));
    if sandbox_missing(&result) {
        return;
    }
    assert_eq!(result.status, Status::Failed, "{result:?}");
    assert_eq!(result.exit_code, Some(3));
    assert_eq!(result.attempt, 3, "{result:?}");
    let rows = ws.history("flaky");
    assert_eq!(
        rows.iter().map(|r| r.attempt).collect::<Vec<_>>(),
        [1, 2, 3],
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .all(|r| r.status == "failed" && r.exit_code == Some(3)),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .all(|r| r.correlation_id == result.correlation_id),
        "every attempt shares the call's correlation id: {rows:?}"
    );
    assert_eq!(rows[2].id, result.execution_id);
}

#[test]
fn a_run_past_its_timeout_is_killed_and_its_cpu_time_is_measured() {
    let ws = Workspace::with(&[skill(
        "spin",
        json!({"command": "sh", "args": ["-c", "while :; do :; done"], "timeout": 1}),
    )]);
    let started = std::time::Instant::now();
    let result = ws.run("spin", json!({}));
    if sandbox_missing(&result) {
        return;
    }
    assert_eq!(result.status, Status::Timeout, "{result:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "killed at the limit, not left spinning: {:?}",
        started.elapsed()
    );
    assert_eq!(result.limit, Some("time"));
    // It spun for about a second. Even on a loaded machine a good share of that is CPU time;
    // unmeasured, it read 0 (or the few ms of another test's processes ending meanwhile).
    let cpu = result.cpu_time_ms.unwrap_or(0);
    assert!(
        cpu >= 50,
        "the CPU time of a killed run is measured, got {cpu} ms"
    );
    let rows = ws.history("spin");
    assert_eq!(
        rows.len(),
        1,
        "a timeout is not retried without a retry block"
    );
    assert_eq!(rows[0].status, "timeout");
    assert_eq!(rows[0].cpu_time_ms, i64::try_from(cpu).ok());
}

#[test]
fn a_value_the_kernel_cannot_pass_is_refused_before_anything_runs() {
    let ws = Workspace::with(&[skill(
        "echo-body",
        json!({"command": "echo", "args": ["{body}"],
               "parameters": [{"name": "body", "type": "string", "required": true}]}),
    )]);
    let body = "x".repeat(200 * 1024);
    let result = ws.run("echo-body", json!({"body": body}));
    assert_eq!(result.status, Status::InvalidParams, "{result:?}");
    let error = result.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("parameter `body` is 204800 bytes") && error.contains("131072"),
        "names the value's size and the limit: {error}"
    );
    assert_eq!(result.exit_code, None, "nothing was spawned");
    assert!(result.stdout.is_empty());
    let rows = ws.history("echo-body");
    assert_eq!(
        rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
        ["invalid_params"],
        "the refusal is recorded once, not retried"
    );
    // Just under the limit still runs.
    let fits = "x".repeat(100 * 1024);
    let result = ws.run("echo-body", json!({"body": fits}));
    if sandbox_missing(&result) {
        return;
    }
    assert_eq!(result.status, Status::Ok, "{result:?}");
    assert_eq!(result.stdout.trim_end().len(), 100 * 1024);
}

#[test]
fn refusals_say_what_is_wrong_and_leave_the_command_to_the_caller() {
    let mut session = skill("repl", json!({"command": "bash"}));
    session["type"] = json!("code_session");
    let ws = Workspace::with(&[session]);
    let unknown = ws.run("nothing-here", json!({}));
    assert_eq!(unknown.status, Status::NotFound);
    assert_eq!(
        unknown.error.as_deref(),
        Some("no skill named `nothing-here`")
    );
    assert_eq!(unknown.hint, Some(Hint::ListSkills));
    let repl = ws.run("repl", json!({}));
    assert_eq!(repl.status, Status::Error);
    assert_eq!(
        repl.hint,
        Some(Hint::StartSession {
            skill: "repl".into()
        })
    );
    for result in [&unknown, &repl] {
        let error = result.error.as_deref().unwrap_or_default();
        assert!(
            !error.contains("skillet "),
            "no command line in the engine's words: {error}"
        );
    }
    // The hint is part of the result callers serialize (`run --json`, MCP structured content).
    let shown = serde_json::to_value(&repl).expect("json");
    assert_eq!(
        shown["hint"],
        json!({"action": "start_session", "skill": "repl"})
    );
}
