//! The dashboard's JSON against a real SQLite store: the figures are skillet-observe's, the
//! detail carries the output tail and spans, the breaker closes, and bad requests say why.

#![allow(clippy::unwrap_used)] // tests: a failed setup step should panic loudly

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use skillet_store::{
    BreakerRecord, ExecutionRecord, LogLevel, LogLine, SpanRecord, SqliteStore, Store, now_ms,
};
use tower::ServiceExt;

fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
    (dir, Arc::new(store))
}

fn run(id: &str, skill: &str, status: &str, started: i64, duration: i64) -> ExecutionRecord {
    let mut r = ExecutionRecord::new(id, skill, status);
    r.started_at_ms = started;
    r.finished_at_ms = started + duration;
    r.duration_ms = duration;
    r
}

async fn call(store: Option<Arc<dyn Store>>, method: &str, uri: &str) -> (StatusCode, Value) {
    let response = skillet_dashboard::router(store)
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_overview_is_skillet_observes_figures() {
    let (_dir, store) = store();
    let now = now_ms();
    for (n, ms) in [10, 30, 20, 40].into_iter().enumerate() {
        store
            .record(&run(
                &format!("a{n}"),
                "alpha",
                "ok",
                now - 1_000 + n as i64,
                ms,
            ))
            .unwrap();
    }
    store
        .record(&run("b0", "beta", "failed", now - 500, 5))
        .unwrap();
    // Outside the window: not counted.
    store
        .record(&run("old", "alpha", "failed", now - 3 * 3_600_000, 5))
        .unwrap();
    let (status, o) = call(Some(store.clone()), "GET", "/api/overview?window=1h").await;
    assert_eq!(status, StatusCode::OK, "{o}");
    let skills = o["skills"].as_array().unwrap();
    let alpha = skills.iter().find(|s| s["skill"] == "alpha").unwrap();
    assert_eq!(alpha["runs"], 4);
    assert_eq!(alpha["success_rate"], 1.0);
    // Nearest rank over 10, 20, 30, 40.
    assert_eq!(alpha["duration_ms"]["p50"], 20);
    assert_eq!(alpha["duration_ms"]["p95"], 40);
    let sparkline: Vec<i64> = alpha["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["duration_ms"].as_i64().unwrap())
        .collect();
    assert_eq!(sparkline, [10, 30, 20, 40], "oldest first");
    let beta = skills.iter().find(|s| s["skill"] == "beta").unwrap();
    assert_eq!(beta["success_rate"], 0.0);
    assert_eq!(o["window_ms"], 3_600_000);

    let (status, e) = call(Some(store.clone()), "GET", "/api/overview?window=soon").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"].as_str().unwrap().contains("window"), "{e}");
    // A query that does not parse is answered in JSON too, as the page expects.
    let (status, e) = call(Some(store), "GET", "/api/executions?limit=many").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"].is_string(), "{e}");
}

#[tokio::test]
async fn executions_filter_and_the_detail_has_output_and_spans() {
    let (_dir, store) = store();
    let now = now_ms();
    let mut failing = run("0190aaaa-1", "alpha", "failed", now - 100, 7);
    failing.spans = vec![SpanRecord {
        phase: "process".into(),
        start_us: 100,
        duration_us: 6_000,
    }];
    store.record(&failing).unwrap();
    store
        .record(&run("0190bbbb-2", "alpha", "ok", now - 50, 3))
        .unwrap();
    store
        .record(&run("0190cccc-3", "beta", "ok", now - 10, 3))
        .unwrap();
    store
        .append_logs(&[LogLine {
            id: 0,
            at_ms: now,
            level: LogLevel::Info,
            source: "stderr".into(),
            target: None,
            skill: Some("alpha".into()),
            execution_id: Some("0190aaaa-1".into()),
            message: "disk full".into(),
        }])
        .unwrap();
    let (_, list) = call(
        Some(store.clone()),
        "GET",
        "/api/executions?skill=alpha&status=failed",
    )
    .await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["0190aaaa-1"]);
    let (_, all) = call(Some(store.clone()), "GET", "/api/executions?limit=2").await;
    assert_eq!(all.as_array().unwrap().len(), 2);

    let (status, d) = call(Some(store.clone()), "GET", "/api/executions/0190aaaa").await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["execution"]["status"], "failed");
    assert_eq!(d["spans"][0]["phase"], "process");
    assert_eq!(d["output"][0]["message"], "disk full");

    let (status, _) = call(Some(store.clone()), "GET", "/api/executions/ffff").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, e) = call(Some(store), "GET", "/api/executions/0190").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an ambiguous prefix: {e}");
}

#[tokio::test]
async fn a_breaker_is_closed_by_post_and_a_server_without_a_store_says_so() {
    let (_dir, store) = store();
    store
        .update_breaker("flaky", &mut |_| {
            Some(BreakerRecord {
                skill: "flaky".into(),
                state: "open".into(),
                consecutive_failures: 3,
                opened_at_ms: Some(now_ms()),
                updated_at_ms: now_ms(),
                trial_started_ms: None,
                recent: "111".into(),
            })
        })
        .unwrap();
    let (_, closed) = call(Some(store.clone()), "POST", "/api/breakers/flaky/close").await;
    assert_eq!(closed["reset"], true);
    assert!(store.breakers().unwrap().is_empty());
    let (_, again) = call(Some(store), "POST", "/api/breakers/flaky/close").await;
    assert_eq!(again["reset"], false);

    let (status, e) = call(None, "GET", "/api/overview").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("without a history store")
    );
}

#[tokio::test]
async fn the_page_forbids_inline_code_and_unknown_assets_are_not_found() {
    let response = skillet_dashboard::router(None)
        .oneshot(Request::builder().uri("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
        "{policy}"
    );
    let (status, _) = call(None, "GET", "/assets/../../etc/passwd").await;
    assert_ne!(status, StatusCode::OK);
    let (status, _) = call(None, "GET", "/assets/nope.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
