//! Authoring events, and the per-skill figures `skillet stats --authoring` shows.

use skillet_store::{AuthoringEvent, AuthoringQuery, AuthoringRecord, AuthoringStats, Retention};

use crate::Db;

crate::both!(
    events_come_back_as_figures_per_workspace_and_skill,
    create_to_first_passing_run_and_failure_rate,
    a_run_that_only_skipped_is_not_a_pass,
    creating_again_restarts_the_clock,
    reload_times_by_nearest_rank,
    events_of_a_kind_this_build_writes_read_back_whatever_the_replica,
    events_follow_the_history_time_rule,
    the_bounded_prune_after_a_run_takes_one_batch,
);

fn event(workspace: &str, skill: &str, at_ms: i64, event: AuthoringEvent) -> AuthoringRecord {
    AuthoringRecord {
        workspace: workspace.into(),
        skill: skill.into(),
        at_ms,
        event,
    }
}

fn tested(passed: u32, failed: u32) -> AuthoringEvent {
    AuthoringEvent::Tested {
        passed,
        failed,
        skipped: 0,
        duration_ms: 3,
    }
}

fn dev(ms: u64) -> AuthoringEvent {
    AuthoringEvent::DevReload {
        save_to_result_ms: ms,
        outcome: "ok".into(),
    }
}

/// Records `events` (all in workspace `/w`) and returns the figures of `/w`.
fn figures(db: &Db, events: &[(&str, i64, AuthoringEvent)]) -> Vec<AuthoringStats> {
    let store = db.open();
    for (skill, at, e) in events {
        store
            .record_authoring(&event("/w", skill, *at, e.clone()))
            .expect("record");
    }
    store
        .authoring_stats(&AuthoringQuery {
            workspaces: vec!["/w".into()],
            skill: None,
        })
        .expect("stats")
}

fn events_come_back_as_figures_per_workspace_and_skill(db: &Db) {
    let store = db.open();
    for r in [
        event("/a", "greet", 1_000, AuthoringEvent::Created),
        event("/a", "greet", 3_000, tested(1, 0)),
        event("/a", "greet", 2_000, tested(0, 1)),
        event("/a", "greet", 4_000, dev(42)),
        event("/b", "greet", 9_000, tested(0, 1)),
        event("", "global", 5_000, AuthoringEvent::Created),
        event("/a", "Zed", 6_000, AuthoringEvent::Created),
    ] {
        store.record_authoring(&r).expect("record");
    }
    let query = AuthoringQuery {
        workspaces: vec!["/a".into(), String::new()],
        skill: None,
    };
    let stats = store.authoring_stats(&query).expect("stats");
    let names: Vec<(&str, &str)> = stats
        .iter()
        .map(|s| (s.workspace.as_str(), s.skill.as_str()))
        .collect();
    assert_eq!(names, [("", "global"), ("/a", "Zed"), ("/a", "greet")]);
    let greet = &stats[2];
    assert_eq!(
        (greet.test_runs, greet.failed_runs, greet.create_to_pass_ms),
        (2, 1, Some(2_000))
    );
    assert_eq!(
        (
            greet.dev_reloads,
            greet.dev_median_ms,
            greet.last_activity_ms
        ),
        (1, Some(42), 4_000)
    );
    assert_eq!((greet.tests_passed, greet.tests_failed), (1, 1));
    assert_eq!(greet.created_at_ms, Some(1_000));
    assert_eq!(greet.first_pass_at_ms, Some(3_000));
    let one = store
        .authoring_stats(&AuthoringQuery {
            workspaces: vec!["/b".into()],
            skill: Some("greet".into()),
        })
        .expect("stats");
    assert_eq!((one.len(), one[0].failed_runs), (1, 1));
    assert!(
        store
            .authoring_stats(&AuthoringQuery::default())
            .expect("stats")
            .is_empty(),
        "no workspace, no figures"
    );
    assert!(
        store
            .authoring_stats(&AuthoringQuery {
                workspaces: vec!["/a".into()],
                skill: Some("nobody".into()),
            })
            .expect("stats")
            .is_empty()
    );
}

fn create_to_first_passing_run_and_failure_rate(db: &Db) {
    let stats = figures(
        db,
        &[
            ("a", 100, AuthoringEvent::Created),
            ("a", 200, tested(0, 1)),
            ("a", 350, tested(1, 0)),
            ("a", 400, tested(0, 1)),
            ("b", 50, tested(2, 0)),
        ],
    );
    assert_eq!(stats.len(), 2);
    let a = &stats[0];
    assert_eq!(
        (a.test_runs, a.failed_runs, a.create_to_pass_ms),
        (3, 2, Some(250))
    );
    assert_eq!(a.failure_rate, Some(2.0 / 3.0));
    assert_eq!(a.last_activity_ms, 400);
    let b = &stats[1];
    assert_eq!((b.created_at_ms, b.first_pass_at_ms), (None, Some(50)));
    assert_eq!(b.create_to_pass_ms, None);
    assert_eq!(b.failure_rate, Some(0.0));
}

fn a_run_that_only_skipped_is_not_a_pass(db: &Db) {
    let stats = figures(
        db,
        &[("a", 1, AuthoringEvent::Created), ("a", 2, tested(0, 0))],
    );
    let a = &stats[0];
    assert_eq!(
        (a.test_runs, a.failed_runs, a.first_pass_at_ms),
        (1, 0, None)
    );
}

fn creating_again_restarts_the_clock(db: &Db) {
    let stats = figures(
        db,
        &[
            ("a", 1, AuthoringEvent::Created),
            ("a", 5, tested(1, 0)),
            ("a", 10, AuthoringEvent::Created),
            ("a", 30, tested(1, 0)),
        ],
    );
    assert_eq!(stats[0].create_to_pass_ms, Some(20));
}

fn reload_times_by_nearest_rank(db: &Db) {
    let events: Vec<(&str, i64, AuthoringEvent)> = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100]
        .into_iter()
        .map(|ms| ("a", 1, dev(ms)))
        .chain([("b", 1, dev(7))])
        .collect();
    let stats = figures(db, &events);
    let a = &stats[0];
    assert_eq!(
        (a.dev_reloads, a.dev_median_ms, a.dev_p90_ms),
        (10, Some(50), Some(90))
    );
    assert_eq!(
        (stats[1].dev_median_ms, stats[1].dev_p90_ms),
        (Some(7), Some(7))
    );
    assert_eq!((a.test_runs, a.failure_rate), (0, None));
}

fn events_of_a_kind_this_build_writes_read_back_whatever_the_replica(db: &Db) {
    let one = db.open();
    let two = db.open();
    one.record_authoring(&event("/w", "s", 1, AuthoringEvent::Created))
        .expect("record");
    two.record_authoring(&event(
        "/w",
        "s",
        2,
        AuthoringEvent::Tested {
            passed: u32::MAX,
            failed: 0,
            skipped: 7,
            duration_ms: u64::MAX,
        },
    ))
    .expect("record");
    let stats = one
        .authoring_stats(&AuthoringQuery {
            workspaces: vec!["/w".into()],
            skill: Some("s".into()),
        })
        .expect("stats");
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].tests_passed, u64::from(u32::MAX));
    assert_eq!(stats[0].create_to_pass_ms, Some(1));
}

fn events_follow_the_history_time_rule(db: &Db) {
    let store = db.open();
    store
        .record_authoring(&event("/a", "old", 10, AuthoringEvent::Created))
        .expect("record");
    store
        .record_authoring(&event("/a", "new", 1_000, AuthoringEvent::Created))
        .expect("record");
    let rule = |dry_run| Retention {
        before_ms: Some(500),
        dry_run,
        ..Retention::default()
    };
    assert_eq!(store.prune(&rule(true)).expect("dry run").authoring, 1);
    let query = AuthoringQuery {
        workspaces: vec!["/a".into()],
        skill: None,
    };
    assert_eq!(store.authoring_stats(&query).expect("stats").len(), 2);
    let report = store.prune(&rule(false)).expect("prune");
    assert_eq!(report.authoring, 1);
    let left = store.authoring_stats(&query).expect("stats");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].skill, "new");
    // The count rule does not apply to them.
    let count = Retention {
        max_rows: Some(0),
        ..Retention::default()
    };
    assert_eq!(store.prune(&count).expect("prune").authoring, 0);
}

fn the_bounded_prune_after_a_run_takes_one_batch(db: &Db) {
    let store = db.open();
    for at in [1, 2, 3] {
        store
            .record_authoring(&event("/a", "old", at, AuthoringEvent::Created))
            .expect("record");
    }
    let rule = Retention {
        before_ms: Some(500),
        batch: Some(2),
        ..Retention::default()
    };
    assert_eq!(store.prune(&rule).expect("prune").authoring, 2);
    let left = store
        .authoring_stats(&AuthoringQuery {
            workspaces: vec!["/a".into()],
            skill: None,
        })
        .expect("stats");
    assert_eq!(left[0].created_at_ms, Some(3), "the oldest go first");
    assert_eq!(store.prune(&rule).expect("prune").authoring, 1);
    assert_eq!(store.prune(&rule).expect("prune").authoring, 0);
}
