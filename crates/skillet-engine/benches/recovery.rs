//! Recovery figures: how fast an open circuit refuses, and whether a long-lived engine grows
//! over many failing runs.
//!
//! `cargo bench -p skillet-engine --bench recovery` (add `-- --runs N`, default 1000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use skillet_engine::{Engine, EngineSettings, RunRequest, Status};
use skillet_registry::{DirKind, Registry, Scope, SkillDir};
use skillet_store::SqliteStore;

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let skills = dir.path().join("skills");
    std::fs::create_dir_all(&skills).expect("skills dir");
    std::fs::write(skills.join("broken.json"), r#"{"name": "broken", "description": "always fails", "type": "code_inline",
        "command": "/bin/false", "circuit_breaker": {"failure_threshold": 1, "reset_after_s": 3600}}"#).expect("write");
    std::fs::write(
        skills.join("failing.json"),
        r#"{"name": "failing", "description": "always fails", "type": "code_inline",
        "command": "/bin/false"}"#,
    )
    .expect("write");
    let registry = Registry::from_dirs(vec![SkillDir {
        path: skills,
        scope: Scope::Workspace,
        kind: DirKind::Skillet,
    }]);
    let store = Arc::new(SqliteStore::open(&dir.path().join("skillet.db")).expect("store"));
    let engine = Engine::new(EngineSettings {
        store: Some(store),
        ..Default::default()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let request = || RunRequest {
        caller_dir: dir.path().to_path_buf(),
        ..Default::default()
    };

    // Open the circuit, then time refusals.
    let first = runtime.block_on(engine.run(&registry, "broken", request()));
    assert_eq!(first.status, Status::Failed);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let r = runtime.block_on(engine.run(&registry, "broken", request()));
        samples.push(started.elapsed());
        assert_eq!(r.status, Status::CircuitOpen);
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "circuit_open refusal ({runs} calls, recorded in the history): median {:.3} ms, p99 {:.3} ms (target < 1 ms)",
        ms(samples[runs / 2]),
        ms(samples[runs * 99 / 100])
    );

    // Failing runs in one engine: memory and descriptors before and after.
    for _ in 0..20 {
        runtime.block_on(engine.run(&registry, "failing", request()));
    }
    let (rss0, fds0) = (rss_kb(), open_fds());
    let started = Instant::now();
    for _ in 0..runs {
        let r = runtime.block_on(engine.run(&registry, "failing", request()));
        assert_eq!(r.status, Status::Failed);
    }
    let (rss1, fds1) = (rss_kb(), open_fds());
    println!(
        "{runs} failing sandboxed runs in {:.1} s: RSS {rss0} kB -> {rss1} kB ({:+} kB), open descriptors {fds0} -> {fds1}",
        started.elapsed().as_secs_f64(),
        rss1 as i64 - rss0 as i64
    );
}
