//! Result cache figures: what a hit costs inside one long-lived engine (as in the daemon or an
//! MCP server), from `Engine::run` to its result, the execution recorded in the history.
//!
//! `cargo bench -p skillet-engine --bench cache_hit` (add `-- --runs N`, default 2000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use skillet_engine::{Engine, EngineSettings, RunRequest, Status};
use skillet_registry::{DirKind, Registry, Scope, SkillDir};
use skillet_store::SqliteStore;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().expect("temp dir");
    let ws = std::fs::canonicalize(dir.path()).expect("real temp dir");
    let skills = ws.join("skills");
    std::fs::create_dir_all(ws.join("src")).expect("src");
    std::fs::create_dir_all(&skills).expect("skills dir");
    // Ten keyed files of 4 KiB, as a small module of a project.
    for i in 0..10 {
        std::fs::write(ws.join(format!("src/m{i}.rs")), "x".repeat(4096)).expect("write");
    }
    std::fs::write(
        skills.join("lint.json"),
        r#"{"name": "lint", "description": "d", "type": "code_inline", "command": "sh",
            "args": ["-c", "cat src/*.rs | wc -c"],
            "parameters": [{"name": "level", "type": "string", "default": "warn"}],
            "cache": {"ttl": 3600, "key_files": ["src/**/*.rs"]}}"#,
    )
    .expect("write");
    let registry = Registry::from_dirs(vec![SkillDir {
        path: skills,
        scope: Scope::Workspace,
        kind: DirKind::Skillet,
    }]);
    let store = Arc::new(SqliteStore::open(&ws.join("skillet.db")).expect("store"));
    let engine = Engine::new(EngineSettings {
        store: Some(store),
        workspace: Some(ws.clone()),
        cache_max_bytes: 256 << 20,
        ..Default::default()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let request = || RunRequest {
        caller_dir: ws.clone(),
        ..Default::default()
    };
    // The digest index trusts a file's stamp only once it is two seconds old.
    std::thread::sleep(Duration::from_millis(2100));

    let started = Instant::now();
    let miss = runtime.block_on(engine.run(&registry, "lint", request()));
    let miss_time = started.elapsed();
    assert_eq!(miss.status, Status::Ok, "{miss:?}");
    assert!(!miss.cached);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let r = runtime.block_on(engine.run(&registry, "lint", request()));
        samples.push(started.elapsed());
        assert!(r.cached, "{r:?}");
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "miss (sandboxed run, stored): {:.3} ms; hit ({runs} calls, each recorded in the history): median {:.3} ms, p99 {:.3} ms (target < 1 ms)",
        ms(miss_time),
        ms(samples[runs / 2]),
        ms(samples[runs * 99 / 100]),
    );
}
