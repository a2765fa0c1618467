//! Capped write grants (`FsPolicy::capped`): a directory the run may write whose whole
//! contents the supervisor bounds while the run goes on, with namespaces and without.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use common::Lab;
use skillet_sandbox::{Exit, LimitHit, SandboxPolicy, SpawnError};

const CAP: u64 = 256 * 1024;
/// What fast writers add between two looks of the supervisor (every 10 ms) and its kill,
/// longer when a loaded machine delays the look: 6-8 MiB for one writer on a 2-core machine,
/// up to 55 MiB for four at once in CI. Every attack writes well past it.
const SLACK: u64 = 96 << 20;

fn usage(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::symlink_metadata(e.path()).ok().map(|m| (e, m)))
        .map(|(e, m)| m.blocks() * 512 + if m.is_dir() { usage(&e.path()) } else { 0 })
        .sum()
}

fn capped_policy(lab: &Lab, namespaces: bool) -> (SandboxPolicy, PathBuf) {
    let dir = lab.tmp.path().join("capped");
    std::fs::create_dir(&dir).unwrap();
    let mut policy = lab.policy();
    policy.namespaces = namespaces;
    policy.fs.write.push(dir.clone());
    policy.fs.capped.push((dir.clone(), CAP));
    (policy, dir)
}

/// Runs `script` with `$D` the capped directory, measuring it from here meanwhile; returns the
/// outcome and the most it was seen holding.
async fn watched(
    lab: &Lab,
    policy: &SandboxPolicy,
    dir: &Path,
    script: &str,
) -> (skillet_sandbox::Outcome, u64) {
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (done, peak, dir) = (done.clone(), peak.clone(), dir.to_path_buf());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(usage(&dir), Ordering::Relaxed);
            }
        })
    };
    let o = lab
        .sh(policy, &format!("D='{}'; {script}", dir.display()))
        .await;
    done.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    let peak = peak.load(Ordering::Relaxed).max(usage(dir));
    (o, peak)
}

async fn a_run_past_the_cap_is_killed(namespaces: bool) {
    let lab = Lab::new();
    let (policy, dir) = capped_policy(&lab, namespaces);
    let attacks = [
        "for i in 1 2 3 4 5 6 7 8; do head -c 40000000 /dev/zero > $D/f$i; done; sleep 20",
        "i=0; while [ $i -lt 100000 ]; do echo x > $D/f$i; i=$((i+1)); done; sleep 20",
        "i=0; while [ $i -lt 100000 ]; do : > $D/e$i; i=$((i+1)); done; sleep 20",
        "mkdir -p $D/a/b/c && head -c 200000000 /dev/zero > $D/a/b/c/f; sleep 20",
        "for i in 1 2 3 4; do head -c 100000000 /dev/zero > $D/p$i & done; wait; sleep 20",
        // Ends at once: the look after the run sees what it left.
        "head -c 3000000 /dev/zero > $D/x; exit 0",
    ];
    for script in attacks {
        let started = std::time::Instant::now();
        let (o, peak) = watched(&lab, &policy, &dir, script).await;
        eprintln!(
            "namespaces {namespaces}: {script}: seen holding at most {} KiB",
            peak / 1024
        );
        assert_eq!(o.limit, Some(LimitHit::WriteCap), "{script}: {o:?}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{script}: not stopped early"
        );
        assert!(peak <= CAP + SLACK, "{script}: held {peak} bytes");
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
    }
    // Under the cap, with a replace by rename, nothing is reported.
    let (o, _) = watched(
        &lab,
        &policy,
        &dir,
        "head -c 100000 /dev/zero > $D/new && mv $D/new $D/doc && echo x > $D/note",
    )
    .await;
    assert_eq!((o.exit, o.limit), (Exit::Code(0), None), "{o:?}");
    assert_eq!(std::fs::metadata(dir.join("doc")).unwrap().len(), 100_000);
}

#[tokio::test]
async fn without_namespaces_a_run_past_a_capped_grant_is_killed() {
    a_run_past_the_cap_is_killed(false).await;
}

#[tokio::test]
async fn with_namespaces_a_run_past_a_capped_grant_is_killed() {
    if !common::full_sandbox() {
        return;
    }
    a_run_past_the_cap_is_killed(true).await;
}

/// The supervisor measures the directory it was given: a capped path that is a link is refused
/// before the run.
#[tokio::test]
async fn a_capped_grant_that_is_a_link_is_refused() {
    let lab = Lab::new();
    let (mut policy, dir) = capped_policy(&lab, false);
    let link = lab.tmp.path().join("link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    policy.fs.capped = vec![(link, CAP)];
    let spec = skillet_sandbox::ProcessSpec {
        program: "/bin/true".into(),
        args: Vec::new(),
        cwd: lab.ws.clone(),
        stdin: skillet_sandbox::StdinSource::Null,
        inherit_fd: None,
    };
    let err = skillet_sandbox::run(&spec, &policy, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SpawnError::Setup(m) if m.contains("capped directory")),
        "{err:?}"
    );
}
