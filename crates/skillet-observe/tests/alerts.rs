//! Alert rules read, evaluated over a real store, and stepped through time by hand: one firing
//! and one resolving per episode, however the condition flickers.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use skillet_observe::{Alert, AlertState, Figure, RuleError, Transition};
use skillet_registry::{AlertNotify, AlertRule};
use skillet_store::{ExecutionRecord, SqliteStore, Store};

fn rule(name: &str, when: &str) -> AlertRule {
    AlertRule {
        name: name.into(),
        skill: None,
        when: when.into(),
        window: None,
        min_runs: None,
        resolve_after: None,
        notify: AlertNotify {
            command: Some(vec!["true".into()]),
            webhook: None,
        },
    }
}

#[test]
fn rules_read_or_say_what_is_wrong() {
    let a = Alert::parse(&rule("a", "failure_rate > 0.2")).unwrap();
    assert_eq!((a.figure, a.threshold), (Figure::FailureRate, 0.2));
    assert_eq!(
        (a.window_ms, a.resolve_after_ms, a.min_runs),
        (900_000, 60_000, 1)
    );
    let mut timed = rule("t", "p95_ms >= 2000");
    timed.window = Some("1h".into());
    timed.resolve_after = Some("5m".into());
    let t = Alert::parse(&timed).unwrap();
    assert_eq!((t.window_ms, t.resolve_after_ms), (3_600_000, 300_000));

    for bad in [
        "failure_rate >",
        "failure_rate = 0.2",
        "latency > 3",
        "runs > many",
        "runs > NaN",
        "",
    ] {
        let e = Alert::parse(&rule("b", bad)).unwrap_err();
        assert!(matches!(e, RuleError::Condition { .. }), "{bad}: {e}");
        assert!(
            e.to_string().contains("failure_rate > 0.2"),
            "the message shows one: {e}"
        );
    }
    let mut window = rule("w", "runs > 1");
    window.window = Some("15 minutes".into());
    assert!(
        Alert::parse(&window)
            .unwrap_err()
            .to_string()
            .contains("window")
    );
    let mut silent = rule("s", "runs > 1");
    silent.notify = AlertNotify::default();
    assert!(matches!(Alert::parse(&silent), Err(RuleError::NoNotify(_))));
    let mut ftp = rule("f", "runs > 1");
    ftp.notify.webhook = Some("ftp://example.com".into());
    assert!(matches!(Alert::parse(&ftp), Err(RuleError::Webhook(_))));
    for bad in ["http://", "https:///x", "http://user@/x", "http://:80/"] {
        ftp.notify.webhook = Some(bad.into());
        assert!(
            matches!(Alert::parse(&ftp), Err(RuleError::Webhook(_))),
            "{bad}"
        );
    }
    ftp.notify.webhook = Some("HTTPS://hooks.example.com/T0/B0/secret".into());
    assert!(Alert::parse(&ftp).is_ok());
    let mut empty = rule("e", "runs > 1");
    empty.notify.command = Some(vec![String::new()]);
    assert!(matches!(Alert::parse(&empty), Err(RuleError::NoNotify(_))));
    let (ok, errors) = Alert::parse_all(&[rule("x", "runs > 1"), rule("x", "runs > 2")]);
    assert_eq!(ok.len(), 1);
    assert!(matches!(errors[..], [RuleError::Duplicate(_)]));
}

#[test]
fn a_flickering_condition_fires_once_and_resolves_once() {
    let resolve_after = 1_000;
    let mut state = AlertState::default();
    let mut transitions = Vec::new();
    // Every 200 ms: holds, then flickers (false for 400 ms, true again), then false for good.
    let seen = [
        true, true, false, false, true, false, true, false, false, false, false, false, false,
        false, false,
    ];
    for (i, holds) in seen.iter().enumerate() {
        let (next, t) = state.step(*holds, i as i64 * 200, resolve_after);
        state = next;
        transitions.extend(t.map(|t| (i, t)));
    }
    // Fired at the first look; resolved once false had lasted 1 s (from step 7 to step 12).
    assert_eq!(
        transitions,
        [(0, Transition::Fired), (12, Transition::Resolved)]
    );
    assert!(!state.firing);
    // And it can fire again.
    assert_eq!(
        state.step(true, 10_000, resolve_after).1,
        Some(Transition::Fired)
    );
}

#[test]
fn evaluation_follows_the_window_and_min_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
    let now = 1_000_000;
    for (i, status) in ["failed", "failed", "ok"].iter().enumerate() {
        let mut r = ExecutionRecord::new(format!("r{i}"), "review", *status);
        r.started_at_ms = now - 10_000 + i as i64;
        store.record(&r).unwrap();
    }
    let mut old = ExecutionRecord::new("old", "other", "failed");
    old.started_at_ms = now - 3_600_000;
    store.record(&old).unwrap();

    let mut r = rule("review failing", "failure_rate > 0.5");
    r.window = Some("1m".into());
    let every = Alert::parse(&r).unwrap();
    // 2 of 3 failed: 0.667 > 0.5. `other` failed an hour ago: outside the window.
    let checks = every.evaluate(&store, now).unwrap();
    assert_eq!(checks.len(), 1);
    let (skill, holds, value) = &checks[0];
    assert_eq!((skill.as_str(), *holds), ("review", true));
    assert!((value.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    // Four runs needed: not yet.
    r.min_runs = Some(4);
    assert!(!Alert::parse(&r).unwrap().evaluate(&store, now).unwrap()[0].1);
    // A named skill without runs in the window is there, not holding.
    r.min_runs = None;
    r.skill = Some("other".into());
    let other = Alert::parse(&r).unwrap().evaluate(&store, now).unwrap();
    assert_eq!(other, [("other".to_owned(), false, None)]);
}
