//! Every figure checked against values worked out by hand, on a real SQLite store.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use skillet_observe::metrics::LiveFigures;
use skillet_observe::{
    HealthState, Spread, StatsQuery, judge, metrics, percentile, skill_health, skill_stats, trends,
};
use skillet_store::{BreakerRecord, ExecutionRecord, SqliteStore, Store};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
    (dir, store)
}

/// Ten runs of `a`, the i-th (1..=10) started at 1000·i and taking 10·i ms: the 3rd failed
/// (exit 1), the 6th timed out after hitting its memory limit, the 9th and 10th came from the
/// cache, the first five queued for 5, 1, 4, 2 and 3 ms.
fn ten_runs_of_a(store: &SqliteStore) {
    for i in 1..=10i64 {
        let status = match i {
            3 => "failed",
            6 => "timeout",
            _ => "ok",
        };
        let mut r = ExecutionRecord::new(format!("a-{i:02}"), "a", status);
        r.started_at_ms = 1000 * i;
        r.finished_at_ms = 1000 * i + 10 * i;
        r.duration_ms = 10 * i;
        r.cached = i >= 9;
        r.queue_wait_ms = [5, 1, 4, 2, 3].get(i as usize - 1).copied();
        r.exit_code = (i == 3).then_some(1);
        if i == 6 {
            r.error = Some("timed out after 60 ms".into());
            r.limit_hit = Some("memory".into());
        }
        r.peak_memory_kb = Some(100 * i);
        r.cpu_time_ms = Some(i);
        store.record(&r).unwrap();
    }
}

#[test]
fn nearest_rank_percentiles_by_hand() {
    assert_eq!(percentile(&[], 50), None);
    assert_eq!(percentile(&[7], 1), Some(7));
    assert_eq!(percentile(&[7], 99), Some(7));
    let hundred: Vec<i64> = (1..=100).collect();
    assert_eq!(percentile(&hundred, 50), Some(50));
    assert_eq!(percentile(&hundred, 95), Some(95));
    assert_eq!(percentile(&hundred, 99), Some(99));
    assert_eq!(percentile(&hundred, 100), Some(100));
    // ⌈0.5·5⌉ = 3rd, ⌈0.95·5⌉ = 5th.
    let s = Spread::of(vec![50, 10, 40, 20, 30]);
    assert_eq!(
        (s.count, s.p50, s.p95, s.p99, s.max),
        (5, Some(30), Some(50), Some(50), Some(50))
    );
    assert_eq!(Spread::of(Vec::new()), Spread::default());
}

#[test]
fn a_skills_figures_by_hand() {
    let (_dir, store) = store();
    ten_runs_of_a(&store);
    let mut b = ExecutionRecord::new("b-01", "b", "ok");
    b.started_at_ms = 500;
    b.duration_ms = 7;
    store.record(&b).unwrap();

    let all = skill_stats(&store, &StatsQuery::default()).unwrap();
    assert_eq!(
        all.iter().map(|s| s.skill.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    let a = &all[0];
    assert_eq!(a.runs, 10);
    assert_eq!(a.statuses.get("ok"), Some(&8));
    assert_eq!(a.statuses.get("failed"), Some(&1));
    assert_eq!(a.statuses.get("timeout"), Some(&1));
    assert_eq!(a.success_rate, Some(0.8));
    assert_eq!((a.cache_hits, a.cache_hit_rate), (2, Some(0.2)));
    // Durations of the eight that ran: 10..=80. ⌈0.5·8⌉ = 4th, ⌈0.95·8⌉ = 8th.
    assert_eq!(
        (
            a.duration_ms.count,
            a.duration_ms.p50,
            a.duration_ms.p95,
            a.duration_ms.p99
        ),
        (8, Some(40), Some(80), Some(80))
    );
    assert_eq!(a.durations_ms, [10, 20, 30, 40, 50, 60, 70, 80]);
    // Waits 1..=5: 3rd and 5th.
    assert_eq!(
        (
            a.queue_wait_ms.count,
            a.queue_wait_ms.p50,
            a.queue_wait_ms.p95
        ),
        (5, Some(3), Some(5))
    );
    assert_eq!(a.limit_kills.get("memory"), Some(&1));
    assert_eq!(a.peak_memory_kb, Some(1000));
    assert_eq!(a.cpu_time_ms, 55);
    assert_eq!(
        (a.last_run_ms, a.last_status.as_deref()),
        (Some(10_000), Some("ok"))
    );
    // The newest run that did not end ok is the 6th, with its own message.
    let e = a.last_error.as_ref().unwrap();
    assert_eq!((e.id.as_str(), e.status.as_str()), ("a-06", "timeout"));
    assert_eq!(e.message, "timed out after 60 ms");

    // The window and the skill filter both narrow what is counted.
    let late = skill_stats(
        &store,
        &StatsQuery {
            skill: Some("a".into()),
            since_ms: Some(5_000),
        },
    )
    .unwrap();
    assert_eq!(late.len(), 1);
    assert_eq!((late[0].runs, late[0].success_rate), (6, Some(5.0 / 6.0)));
    assert!(
        skill_stats(
            &store,
            &StatsQuery {
                skill: Some("none".into()),
                since_ms: None
            }
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn a_failure_without_a_message_is_named_by_its_exit_code() {
    let (_dir, store) = store();
    let mut r = ExecutionRecord::new("c-1", "c", "failed");
    r.exit_code = Some(3);
    store.record(&r).unwrap();
    let c = &skill_stats(&store, &StatsQuery::default()).unwrap()[0];
    assert_eq!(c.last_error.as_ref().unwrap().message, "exited with code 3");
    assert_eq!(c.success_rate, Some(0.0));
}

#[test]
fn health_follows_rates_and_breakers() {
    assert_eq!(judge(0, None, None), HealthState::Idle);
    assert_eq!(judge(0, None, Some("closed")), HealthState::Idle);
    assert_eq!(judge(10, Some(0.95), None), HealthState::Healthy);
    assert_eq!(judge(10, Some(0.9), None), HealthState::Healthy);
    assert_eq!(judge(10, Some(0.8), None), HealthState::Degraded);
    assert_eq!(judge(10, Some(0.4), None), HealthState::Failing);
    // Two bad calls are not yet a failing skill.
    assert_eq!(judge(2, Some(0.0), None), HealthState::Degraded);
    assert_eq!(judge(10, Some(1.0), Some("open")), HealthState::Failing);
    assert_eq!(judge(0, None, Some("open")), HealthState::Failing);
    assert_eq!(
        judge(10, Some(1.0), Some("half_open")),
        HealthState::Degraded
    );

    let (_dir, store) = store();
    ten_runs_of_a(&store);
    store
        .update_breaker("gone", &mut |_| {
            Some(BreakerRecord {
                skill: "gone".into(),
                state: "open".into(),
                consecutive_failures: 5,
                opened_at_ms: Some(1),
                updated_at_ms: 1,
                trial_started_ms: None,
                recent: "11111".into(),
            })
        })
        .unwrap();
    let health = skill_health(&store, 0).unwrap();
    let states: Vec<_> = health.iter().map(|h| (h.skill.as_str(), h.state)).collect();
    assert_eq!(
        states,
        [("a", HealthState::Degraded), ("gone", HealthState::Failing)]
    );
    assert_eq!(health[1].breaker.as_deref(), Some("open"));
    // Calls the caller got wrong do not count against the skill.
    for (i, status) in ["invalid_params", "not_found"].iter().enumerate() {
        let mut r = ExecutionRecord::new(format!("b-{i}"), "b", *status);
        r.started_at_ms = 2000 + i as i64;
        store.record(&r).unwrap();
    }
    let mut r = ExecutionRecord::new("b-ok".to_owned(), "b", "ok");
    r.started_at_ms = 1500;
    store.record(&r).unwrap();
    let b = skill_health(&store, 0)
        .unwrap()
        .into_iter()
        .find(|h| h.skill == "b")
        .unwrap();
    assert_eq!(
        (b.state, b.runs, b.success_rate),
        (HealthState::Healthy, 1, Some(1.0))
    );
    assert!(b.last_error.is_none(), "{:?}", b.last_error);
    // Out of the window `a` has no runs, and no breaker to show: it is left out.
    let later = skill_health(&store, 20_000).unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].skill, "gone");
}

#[test]
fn the_exposition_counts_what_the_history_holds() {
    let (_dir, store) = store();
    ten_runs_of_a(&store);
    let live = LiveFigures {
        mcp_requests: vec![("tools/call".into(), 4)],
        mcp_sessions: 2,
    };
    // Two conversations: tokens and model time, as providers counted them; one run that bytes
    // and processes were measured for.
    for (i, (input, output, ms)) in [(50, 5, 400), (70, 9, 1_200)].into_iter().enumerate() {
        let mut r = ExecutionRecord::new(format!("c{i}"), "chat", "ok");
        r.started_at_ms = 1_000 + i as i64;
        (r.llm_input_tokens, r.llm_output_tokens, r.llm_ms) = (Some(input), Some(output), Some(ms));
        r.bytes_written = Some(4096);
        r.peak_processes = Some(3 + i as i64);
        store.record(&r).unwrap();
    }
    let text = metrics::render(&store, &live).unwrap();
    for line in [
        r#"skillet_llm_tokens_total{skill="chat",direction="input"} 120"#,
        r#"skillet_llm_tokens_total{skill="chat",direction="output"} 14"#,
        r#"skillet_llm_request_seconds_bucket{skill="chat",le="0.5"} 1"#,
        r#"skillet_llm_request_seconds_count{skill="chat"} 2"#,
        r#"skillet_storage_written_bytes_total{skill="chat"} 8192"#,
        r#"skillet_peak_processes{skill="chat"} 4"#,
        r#"skillet_executions_total{skill="a",status="ok"} 8"#,
        r#"skillet_executions_total{skill="a",status="failed"} 1"#,
        r#"skillet_cache_hits_total{skill="a"} 2"#,
        r#"skillet_limit_kills_total{skill="a",limit="memory"} 1"#,
        // Durations 10..=80 ms: ≤ 0.025 s holds 10 and 20; ≤ 0.05 s, 10..=50; all 8 by 0.1 s.
        r#"skillet_execution_duration_seconds_bucket{skill="a",le="0.025"} 2"#,
        r#"skillet_execution_duration_seconds_bucket{skill="a",le="0.05"} 5"#,
        r#"skillet_execution_duration_seconds_bucket{skill="a",le="0.1"} 8"#,
        r#"skillet_execution_duration_seconds_count{skill="a"} 8"#,
        r#"skillet_queue_wait_seconds_count{skill="a"} 5"#,
        r#"skillet_mcp_requests_total{method="tools/call"} 4"#,
        "skillet_mcp_sessions 2",
        r#"skillet_jobs{state="queued"} 0"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
}

/// Runs of `skill` taking `ms` each, started at `at` (ms since the epoch) and one second apart.
fn runs_at(store: &SqliteStore, skill: &str, at: i64, ms: &[i64]) {
    for (i, d) in ms.iter().enumerate() {
        let mut r = ExecutionRecord::new(format!("{skill}-{at}-{i}"), skill, "ok");
        r.started_at_ms = at + i as i64 * 1000;
        r.duration_ms = *d;
        store.record(&r).unwrap();
    }
}

#[test]
fn trends_by_day_and_the_doubled_p95_flag_by_hand() {
    const DAY: i64 = 86_400_000;
    let (_dir, store) = store();
    // "Now" is noon of day 100.
    let now = 100 * DAY + DAY / 2;
    // `slower`: last week 5 runs of 10..50 ms (p95 50), this week 5 of 100..500 (p95 500).
    runs_at(&store, "slower", now - 10 * DAY, &[10, 20, 30, 40, 50]);
    runs_at(&store, "slower", now - DAY, &[300, 100, 500, 200]);
    runs_at(&store, "slower", now - 60_000, &[400]);
    // `steady`: 60 then 100 ms p95, under double; `sparse`: doubled, but on 2 runs a week.
    runs_at(&store, "steady", now - 9 * DAY, &[60, 60, 60, 60, 60]);
    runs_at(&store, "steady", now - 2 * DAY, &[100, 100, 100, 100, 100]);
    runs_at(&store, "sparse", now - 9 * DAY, &[10, 10]);
    runs_at(&store, "sparse", now - 2 * DAY, &[90, 90]);
    // Three weeks ago: outside both weeks, and not in any day shown.
    runs_at(&store, "old", now - 21 * DAY, &[5]);

    let all = trends(&store, None, now, 3).unwrap();
    let names: Vec<&str> = all.iter().map(|t| t.skill.as_str()).collect();
    assert_eq!(names, ["slower", "sparse", "steady"]);
    let slower = &all[0];
    assert_eq!(
        (slower.p95_previous_week_ms, slower.p95_this_week_ms),
        (Some(50), Some(500))
    );
    assert!(slower.p95_doubled);
    // Days 98, 99 and 100: yesterday's four runs (sorted 100, 200, 300, 500: p50 the 2nd,
    // p95 the 4th), today's one.
    let days: Vec<(i64, u64, Option<i64>, Option<i64>)> = slower
        .days
        .iter()
        .map(|d| (d.day_start_ms / DAY, d.runs, d.p50_ms, d.p95_ms))
        .collect();
    assert_eq!(
        days,
        [
            (98, 0, None, None),
            (99, 4, Some(200), Some(500)),
            (100, 1, Some(400), Some(400))
        ]
    );
    assert!(!all[1].p95_doubled, "two runs a week are too few");
    assert!(!all[2].p95_doubled, "100 is under twice 60");
    let one = trends(&store, Some("steady"), now, 7).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].days.len(), 7);
}
