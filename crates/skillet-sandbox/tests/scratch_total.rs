//! The bound on all live scratch together ([`skillet_sandbox::Limits::scratch_total_bytes`]),
//! with real confined processes, with namespaces (private tmpfs scratches) and without (host
//! directories the supervisor measures): a run past it is stopped as at its own cap, a run
//! started while live ones hold it is refused with what holds it, and the space comes back
//! when they end.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::{Lab, text};
use skillet_sandbox::{
    Confined, LimitHit, ProcessSpec, SandboxPolicy, SpawnError, StdinSource, spawn,
};
use tokio::io::AsyncBufReadExt;

const BOUND: u64 = 12 << 20;

fn spec(lab: &Lab, script: &str) -> ProcessSpec {
    ProcessSpec {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        cwd: lab.ws.clone(),
        stdin: StdinSource::Null,
        inherit_fd: None,
    }
}

/// A live process that filled its scratch (as far as it could) and then waits.
async fn holder(lab: &Lab, policy: &SandboxPolicy) -> Confined {
    let script =
        "dd if=/dev/zero of=\"$HOME/big\" bs=1M count=64 2>/dev/null; echo written; sleep 60";
    let mut held = spawn(&spec(lab, script), policy).unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(held.stdout.take().unwrap())
        .read_line(&mut line)
        .await
        .unwrap();
    assert_eq!(line, "written\n");
    held
}

async fn check(lab: &Lab, policy: &SandboxPolicy, what: &str) {
    // Past the bound (not its own 256 MiB cap), a run is stopped as at its cap.
    let o = lab
        .sh(
            policy,
            "dd if=/dev/zero of=\"$HOME/fill\" bs=1M count=40 2>&1 || exit 1; sleep 20",
        )
        .await;
    assert_eq!(o.limit, Some(LimitHit::ScratchDisk), "{what}: {o:?}");

    let held = holder(lab, policy).await;
    let refused = skillet_sandbox::run(&spec(lab, "echo ran"), policy, None).await;
    match refused {
        Err(e @ SpawnError::ScratchFull(_)) => {
            let msg = e.to_string();
            for needle in [
                "scratch space is full",
                "of the 12 MiB allowed",
                "this process",
                "1 scratch directory",
                "skillet session list",
                "max_scratch_total_mb in the global skillet.toml",
            ] {
                assert!(msg.contains(needle), "{what}: {needle:?} missing: {msg}");
            }
        }
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
    assert!(matches!(
        spawn(&spec(lab, "sleep 5"), policy),
        Err(SpawnError::ScratchFull(_))
    ));
    // Once the holder ends, its space is free again.
    assert!(held.finish().await.is_none());
    let o = lab.sh(policy, "echo ran").await;
    assert_eq!(text(&o.stdout), "ran\n", "{what}: {o:?}");

    // Without the bound the holder's write goes through and nothing is refused.
    let mut unbounded = policy.clone();
    unbounded.limits.scratch_total_bytes = None;
    let held = holder(lab, &unbounded).await;
    let o = lab.sh(&unbounded, "echo ran").await;
    assert_eq!(text(&o.stdout), "ran\n", "{what}: {o:?}");
    held.finish().await;
}

/// One test for both modes: the live scratches of this process are one pool, so the two
/// must not run at once.
#[tokio::test]
async fn live_scratch_is_bounded_together_with_and_without_namespaces() {
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.limits.scratch_total_bytes = Some(BOUND);
    policy.namespaces = false;
    check(&lab, &policy, "without namespaces").await;
    if common::full_sandbox() {
        policy.namespaces = true;
        check(&lab, &policy, "with namespaces").await;
    }
}
