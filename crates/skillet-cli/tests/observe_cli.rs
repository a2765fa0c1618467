//! `skillet stats` and `skillet trace` as a user runs them, checked against figures worked
//! out by hand from `skillet history --json` (the same rows), and `/metrics`, `/healthz` and
//! `/readyz` of `skillet serve --http` read by a real MCP client and prometheus_client's own
//! parser (tests/mcp/observe_http.py). `skillet health` is in health_cli.rs.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use common::observe::{code_skill, json_of, world};
use common::served::Served;
use serde_json::{Value, json};

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/observe_http.py");

/// Nearest rank, worked out here independently of skillet: the ⌈p·n/100⌉-th smallest.
fn by_hand(mut values: Vec<i64>, p: usize) -> Value {
    values.sort_unstable();
    if values.is_empty() {
        return Value::Null;
    }
    let rank = (p * values.len()).div_ceil(100).max(1);
    json!(values[rank - 1])
}

#[test]
fn stats_match_the_history_worked_out_by_hand() {
    let w = world();
    for ms in ["1", "3", "0", "2", "4"] {
        assert_eq!(w.run(&["run", "ok", "-p", &format!("ms={ms}")]).0, 0);
    }
    for _ in 0..2 {
        assert_ne!(w.run(&["run", "fails"]).0, 0);
    }
    let (_, history) = json_of(&w, &["history", "--json", "--limit", "0"]);
    let rows = history.as_array().unwrap();
    let durations = |skill: &str| -> Vec<i64> {
        rows.iter()
            .filter(|r| r["skill"] == skill)
            .map(|r| r["duration_ms"].as_i64().unwrap())
            .collect()
    };
    let (code, stats) = json_of(&w, &["stats", "--json"]);
    assert_eq!(code, 0);
    let skills = stats["skills"].as_array().unwrap();
    let names: Vec<&str> = skills
        .iter()
        .map(|s| s["skill"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fails", "ok"]);
    let (fails, ok) = (&skills[0], &skills[1]);
    assert_eq!(ok["runs"], 5);
    assert_eq!(ok["success_rate"], 1.0);
    assert_eq!(ok["statuses"], json!({"ok": 5}));
    assert_eq!(fails["runs"], 2);
    assert_eq!(fails["success_rate"], 0.0);
    assert_eq!(fails["last_error"]["status"], "failed");
    for (skill, figures) in [("ok", ok), ("fails", fails)] {
        for p in [50, 95, 99] {
            assert_eq!(
                figures["duration_ms"][format!("p{p}")],
                by_hand(durations(skill), p),
                "p{p} of {skill}: {figures}"
            );
        }
        assert_eq!(figures["duration_ms"]["count"], durations(skill).len());
    }
    // This week's p95 is the p95 of the same runs (all ran today); the day's figures too.
    assert_eq!(
        ok["trend"]["p95_this_week_ms"],
        by_hand(durations("ok"), 95)
    );
    assert_eq!(ok["trend"]["p95_doubled"], false);
    let today = ok["trend"]["days"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(today["runs"], 5);
    assert_eq!(today["p50_ms"], by_hand(durations("ok"), 50));
    // One skill, by name: the same figures.
    let (_, one) = json_of(&w, &["stats", "ok", "--json"]);
    assert_eq!(one["skills"].as_array().unwrap().len(), 1);
    assert_eq!(one["skills"][0]["duration_ms"], ok["duration_ms"]);
    // People get a table and a detail view.
    let (code, table, _) = w.run(&["stats"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("SUCCESS") && table.lines().any(|l| l.starts_with("ok ")),
        "{table}"
    );
    let (_, detail, _) = w.run(&["stats", "fails"]);
    assert!(detail.contains("success rate:  0.0%"), "{detail}");
    assert!(detail.contains("last error:"), "{detail}");
}

#[test]
fn since_narrows_the_window_and_a_bad_one_is_refused() {
    let w = world();
    assert_eq!(w.run(&["run", "fails"]).0, 3);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(w.run(&["run", "ok"]).0, 0);
    let (_, recent) = json_of(&w, &["stats", "--since", "2s", "--json"]);
    let names: Vec<&str> = recent["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["skill"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ok"]);
    assert!(recent["since"].is_string());
    let (code, _, err) = w.run(&["stats", "--since", "2 days"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--since"), "{err}");
    let (code, nothing, _) = w.run(&["stats", "never-ran"]);
    assert_eq!(code, 0);
    assert!(nothing.contains("no runs of `never-ran`"), "{nothing}");
}

#[test]
fn metrics_parse_with_the_reference_parser_and_agree_with_stats() {
    let w = world();
    let (code, _, stderr) = w.run(&["trust"]);
    assert_eq!(code, 0, "{stderr}");
    // Runs from the command line count as well as the agent's.
    assert_eq!(w.run(&["run", "ok"]).0, 0);
    let served = Served::start(&w);
    let out = w
        .command(&common::mcp::python())
        .arg(CLIENT)
        .args([
            "--base",
            served.base(),
            "--token",
            &served.token,
            "--calls",
            "3",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let status = &seen["status"];
    for path in ["/metrics", "/healthz", "/readyz"] {
        assert_eq!(status[format!("{path} without token")], 401, "{status}");
        assert_eq!(status[path], 200, "{status}");
    }
    assert!(
        status["/metrics content type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{status}"
    );
    assert_eq!(status["/readyz body"]["ready"], true, "{status}");
    assert_eq!(status["/healthz body"]["status"], "ok");

    let types = &seen["types"];
    assert_eq!(types["skillet_executions"], "counter", "{types}");
    assert_eq!(types["skillet_execution_duration_seconds"], "histogram");
    assert_eq!(types["skillet_mcp_sessions"], "gauge");
    let sample = |key: &str| {
        seen["samples"][key]
            .as_f64()
            .unwrap_or_else(|| panic!("no {key}: {seen}"))
    };
    assert_eq!(
        sample("skillet_executions_total{skill=echo,status=ok}"),
        3.0
    );
    assert_eq!(sample("skillet_executions_total{skill=ok,status=ok}"), 1.0);
    assert_eq!(sample("skillet_mcp_requests_total{method=tools/call}"), 4.0);
    // The agent's calls waited in the daemon's queue; the command line's did not.
    assert_eq!(sample("skillet_queue_wait_seconds_count{skill=echo}"), 3.0);
    // A week of one day's runs: no week before to compare with, so not doubled.
    assert_eq!(sample("skillet_p95_doubled{skill=echo}"), 0.0);
    assert!(sample("skillet_duration_p95_week_seconds{skill=echo,week=this}") >= 0.0);

    // Every count agrees with `skillet stats`.
    let (_, stats) = json_of(&w, &["stats", "--json"]);
    for s in stats["skills"].as_array().unwrap() {
        let skill = s["skill"].as_str().unwrap();
        for (status, n) in s["statuses"].as_object().unwrap() {
            assert_eq!(
                sample(&format!(
                    "skillet_executions_total{{skill={skill},status={status}}}"
                )),
                n.as_f64().unwrap(),
                "{skill} {status}"
            );
        }
        assert_eq!(
            sample(&format!(
                "skillet_execution_duration_seconds_count{{skill={skill}}}"
            )),
            s["duration_ms"]["count"].as_f64().unwrap()
        );
    }
}

/// One raw HTTP/1.1 request with `host` and the bearer `token`; (status, body).
fn http(
    base: &str,
    method: &str,
    path: &str,
    host: &str,
    token: &str,
    body: &str,
) -> (u16, String) {
    let bearer = format!("Bearer {token}");
    common::served::raw_http(
        base,
        method,
        path,
        &[("Host", host), ("Authorization", &bearer)],
        body,
    )
}

#[test]
fn the_new_paths_refuse_a_rebound_host_and_anything_but_reading() {
    let w = world();
    let served = Served::start(&w);
    let base = served.base();
    let port = base.rsplit(':').next().unwrap();
    let token = &served.token;
    // A page that rebound its own name to 127.0.0.1 sends that name: refused on every path.
    for path in ["/metrics", "/healthz", "/readyz"] {
        let (status, _) = http(
            base,
            "GET",
            path,
            &format!("attacker.example:{port}"),
            token,
            "",
        );
        assert_eq!(status, 403, "{path}");
        let (status, _) = http(base, "GET", path, &format!("localhost:{port}"), token, "");
        assert_eq!(status, 200, "{path}");
    }
    // A POST there is refused before anything of MCP's happens: not counted, no session made.
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}});
    let (status, _) = http(
        base,
        "POST",
        "/healthz",
        &format!("127.0.0.1:{port}"),
        token,
        &initialize.to_string(),
    );
    assert_eq!(status, 405);
    let (_, metrics) = http(
        base,
        "GET",
        "/metrics",
        &format!("127.0.0.1:{port}"),
        token,
        "",
    );
    assert!(
        !metrics.contains("skillet_mcp_requests_total{"),
        "{metrics}"
    );
    assert!(metrics.contains("skillet_mcp_sessions 0"), "{metrics}");
}

#[test]
fn a_name_that_is_no_skill_is_no_failing_skill() {
    let w = world();
    for _ in 0..3 {
        assert_ne!(w.run(&["run", "biuld"]).0, 0);
    }
    let (code, report) = json_of(&w, &["health", "--json"]);
    assert_eq!(code, 0, "{report}");
    assert!(report["skills"].as_array().unwrap().is_empty(), "{report}");
    let (_, stats) = json_of(&w, &["stats", "--json"]);
    assert!(stats["skills"].as_array().unwrap().is_empty(), "{stats}");
    // It is still in the history, as every call is.
    let (_, history) = json_of(&w, &["history", "--json"]);
    assert_eq!(history.as_array().unwrap().len(), 3);
}

#[test]
fn trace_shows_where_an_executions_time_went() {
    let w = world();
    let (code, run) = w.run_json(&["ok", "-p", "ms=9"]);
    assert_eq!(code, 0, "{run}");
    let id = run["execution_id"].as_str().unwrap();
    let (code, trace) = json_of(&w, &["trace", &id[..13], "--json"]);
    assert_eq!(code, 0, "{trace}");
    assert_eq!(trace["execution"]["id"], id);
    let spans = trace["spans"].as_array().unwrap();
    let phases: Vec<&str> = spans.iter().map(|s| s["phase"].as_str().unwrap()).collect();
    for phase in [
        "resolve",
        "validate",
        "sandbox_setup",
        "process",
        "teardown",
    ] {
        assert!(phases.contains(&phase), "no {phase} in {phases:?}");
    }
    // In order, one after the other, and the program's own 90 ms sleep is in `process`: all
    // but what it slept before its parent, on a busy machine, was scheduled to see it start.
    let starts: Vec<u64> = spans
        .iter()
        .map(|s| s["start_us"].as_u64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|p| p[0] <= p[1]), "{starts:?}");
    let process: u64 = spans
        .iter()
        .filter(|s| s["phase"] == "process")
        .map(|s| s["duration_us"].as_u64().unwrap())
        .sum();
    assert!(process >= 60_000, "process took {process} µs: {spans:?}");
    let (code, text, _) = w.run(&["trace", id]);
    assert_eq!(code, 0);
    assert!(text.contains("process") && text.contains('#'), "{text}");
    let (code, _, err) = w.run(&["trace", "0000dead"]);
    assert_eq!(code, 1);
    assert!(err.contains("skillet history"), "{err}");
}

/// Each run records the most processes it had at once (from its cgroup, where the sandbox has
/// one) and the bytes it wrote to storage; `history show`, `stats` and `/metrics` show them.
#[test]
fn processes_and_bytes_written_are_recorded_per_run() {
    let w = World::new();
    std::fs::create_dir_all(w.path("out")).unwrap();
    code_skill(
        &w,
        "busy",
        "sh",
        &[
            "-c",
            "for i in 1 2 3 4 5; do sleep 0.3 & done; \
             dd if=/dev/zero of=out/big.bin bs=1M count=3 conv=fsync 2>/dev/null; wait; rm out/big.bin",
        ],
    );
    let (code, r) = w.run_json(&["busy", "--allow-write", "out"]);
    assert_eq!(code, 0, "{r}");
    let written = r["bytes_written"].as_u64().unwrap();
    assert!(written >= 3 << 20, "{r}");
    // Only a run in a cgroup that counts processes knows them (not an unprivileged one
    // without a delegated cgroup).
    let processes = r["peak_processes"].as_u64();
    if let Some(n) = processes {
        assert!(n >= 6, "five sleeps, dd and the shell: {r}");
    }
    let (_, history) = json_of(&w, &["history", "--json", "--limit", "1"]);
    assert_eq!(history[0]["bytes_written"], json!(written));
    assert_eq!(history[0]["peak_processes"].as_u64(), processes);
    let (_, shown, _) = w.run(&["history", "show", r["execution_id"].as_str().unwrap()]);
    assert!(
        shown.contains("written:") && shown.contains("MiB"),
        "{shown}"
    );

    w.run_json(&["busy", "--allow-write", "out"]);
    let (_, stats) = json_of(&w, &["stats", "busy", "--json"]);
    let busy = &stats["skills"][0];
    assert!(
        busy["bytes_written"].as_u64().unwrap() >= 2 * written - (1 << 20),
        "{busy}"
    );
    assert_eq!(
        busy["peak_processes"].as_u64().is_some(),
        processes.is_some(),
        "{busy}"
    );
}
