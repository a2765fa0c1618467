//! A run's cgroup is removed however the run ends, including every way it can fail between
//! making the group and starting the program.
//!
//! Groups are named after this process (`<pid>-<run>`) and every test here makes some, so the
//! tests take turns: each one sees only its own.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

use common::{Lab, unconfined};
use skillet_sandbox::probe::{self, CgroupMode};
use skillet_sandbox::{CgroupError, ProcessSpec, SandboxPolicy, SpawnError, StdinSource};

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// The run groups this process has in the hierarchy, in every controller it uses.
fn run_groups() -> Vec<PathBuf> {
    let parents = match &probe::capabilities().cgroups {
        Ok(CgroupMode::V2(dir)) => vec![dir.join("skillet")],
        Ok(CgroupMode::V1 { memory, pids, cpu }) => [memory, pids, cpu]
            .iter()
            .map(|c| c.join("skillet"))
            .collect(),
        Err(_) => Vec::new(),
    };
    let mine = format!("{}-", std::process::id());
    parents
        .iter()
        .filter_map(|p| std::fs::read_dir(p).ok())
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&mine))
        .map(|e| e.path())
        .collect()
}

/// The run groups still there after a moment: a group whose last task is still exiting is
/// removed in the background, soon after the run.
fn left_behind() -> Vec<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let groups = run_groups();
        if groups.is_empty() || Instant::now() > deadline {
            return groups;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A policy that makes a group in every controller: memory, processes and CPU share.
fn limited(mut policy: SandboxPolicy) -> SandboxPolicy {
    policy.limits.memory_bytes = Some(256 << 20);
    policy.limits.max_processes = Some(32);
    policy.limits.cpu_percent = Some(50);
    policy
}

/// Each way of confining a run: the full sandbox, without namespaces, and unconfined.
fn every_isolation(lab: &Lab) -> Vec<(&'static str, SandboxPolicy)> {
    let full = limited(lab.policy());
    let mut flat = limited(lab.policy());
    flat.namespaces = false;
    let none = unconfined(limited(lab.policy()));
    vec![
        ("namespaces", full),
        ("no namespaces", flat),
        ("unconfined", none),
    ]
}

fn spec(lab: &Lab, program: &str, args: &[&str]) -> ProcessSpec {
    ProcessSpec {
        program: program.into(),
        args: args.iter().map(Into::into).collect(),
        cwd: lab.ws.clone(),
        stdin: StdinSource::Null,
        inherit_fd: None,
    }
}

/// Runs `spec` under `policy`, expecting it to fail, asserts that it left no group, and returns
/// the error.
async fn fails_without_a_trace(
    what: &str,
    spec: &ProcessSpec,
    policy: &SandboxPolicy,
) -> SpawnError {
    assert_eq!(run_groups(), Vec::<PathBuf>::new(), "{what}: groups before");
    let error = match skillet_sandbox::run(spec, policy, None).await {
        Ok(outcome) => panic!("{what}: expected a failure, got {outcome:?}"),
        Err(e) => e,
    };
    assert_eq!(
        left_behind(),
        Vec::<PathBuf>::new(),
        "{what}: the failed run ({error}) left its cgroup behind"
    );
    error
}

#[tokio::test]
async fn a_started_run_has_a_group_and_leaves_none() {
    // What the other tests rely on: a run's groups are where `run_groups` looks.
    if !common::cgroups() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let lab = Lab::new();
    for (what, policy) in every_isolation(&lab) {
        let child = skillet_sandbox::spawn(&spec(&lab, "/bin/sleep", &["30"]), &policy)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let during = run_groups();
        assert!(
            !during.is_empty(),
            "{what}: no group found for a running run"
        );
        child.finish().await;
        let after = left_behind();
        assert!(
            after.is_empty(),
            "{what}: a finished run left {after:?} behind"
        );
    }
}

/// The pids listed in a group's `cgroup.procs`.
fn members(group: &std::path::Path) -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_to_string(group.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

#[tokio::test]
async fn every_process_of_a_run_is_in_each_of_its_groups() {
    // The child joins its groups by moving its one thread (`tasks` under cgroup v1, which is
    // much cheaper than `cgroup.procs`): that must still put the whole run inside, the program
    // and whatever it starts, in every controller, or a limit would not hold.
    if !common::cgroups() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let lab = Lab::new();
    for (what, policy) in every_isolation(&lab) {
        let started = spec(
            &lab,
            "/bin/sh",
            &["-c", "/bin/sleep 30 & /bin/sleep 30 & wait"],
        );
        let child =
            skillet_sandbox::spawn(&started, &policy).unwrap_or_else(|e| panic!("{what}: {e}"));
        let groups = run_groups();
        assert!(!groups.is_empty(), "{what}: no group for a running run");
        // The shell, its two sleeps (and init, where the run has one), once all have started.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen: Vec<Vec<i32>> = groups.iter().map(|g| members(g)).collect();
        while seen.iter().any(|m| m.len() < 3) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            seen = groups.iter().map(|g| members(g)).collect();
        }
        for (group, pids) in groups.iter().zip(&seen) {
            assert!(
                pids.len() >= 3,
                "{what}: {} holds {pids:?}, not the shell and its two children",
                group.display()
            );
            assert_eq!(
                pids,
                &seen[0],
                "{what}: {} and {} hold different processes",
                group.display(),
                groups[0].display()
            );
            for pid in pids {
                // Each member's own view names this group in that controller.
                let own =
                    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
                let name = group.file_name().unwrap().to_string_lossy().into_owned();
                assert!(
                    own.contains(&format!("/skillet/{name}")),
                    "{what}: process {pid} is listed in {} but its /proc/{pid}/cgroup says:\n{own}",
                    group.display()
                );
            }
        }
        child.finish().await;
        assert_eq!(left_behind(), Vec::<PathBuf>::new(), "{what}: groups left");
    }
}

#[tokio::test]
async fn a_limit_the_kernel_refuses_leaves_no_group_behind() {
    // A CPU share of 0 % is a quota of 0, which the kernel refuses after the memory and pids
    // limits were written (in their own groups on cgroup v1).
    if !common::cgroups() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let lab = Lab::new();
    for (what, mut policy) in every_isolation(&lab) {
        policy.limits.cpu_percent = Some(0);
        let spec = spec(&lab, "/bin/true", &[]);
        let error = fails_without_a_trace(what, &spec, &policy).await;
        // The refusal is typed, and says what to change.
        assert!(
            matches!(error, SpawnError::Cgroup(CgroupError::Limit { .. })),
            "{what}: {error:?}"
        );
        assert!(
            error.to_string().contains("at least 1 %"),
            "{what}: {error}"
        );
    }
}

#[tokio::test]
async fn a_grant_that_cannot_be_opened_leaves_no_group_behind() {
    // The group is made before the policy's paths are opened; a grant that is refused there
    // (not resolved, or reached through a link) must take the group with it.
    if !common::cgroups() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let lab = Lab::new();
    std::os::unix::fs::symlink(&lab.outside, lab.ws.join("link")).unwrap();
    let grants = [
        ("`..` in a read grant", lab.ws.join("../outside"), false),
        ("a relative write grant", PathBuf::from("ws/out"), true),
        ("a link as a read grant", lab.ws.join("link"), false),
        ("a link as a write grant", lab.ws.join("link"), true),
    ];
    for (what, policy) in every_isolation(&lab) {
        if what == "unconfined" {
            continue; // Nothing of the policy's paths is opened.
        }
        for (grant, path, write) in &grants {
            let mut policy = policy.clone();
            if *write {
                policy.fs.write.push(path.clone());
            } else {
                policy.fs.read.push(path.clone());
            }
            let spec = spec(&lab, "/bin/true", &[]);
            let what = format!("{what}, {grant}");
            let error = fails_without_a_trace(&what, &spec, &policy).await;
            assert!(
                matches!(error, SpawnError::UnsafePath { .. }),
                "{what}: {error:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_program_that_cannot_be_executed_leaves_no_group_behind() {
    // Init has joined the group by the time exec fails, so the group had a member.
    if !common::cgroups() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let lab = Lab::new();
    let not_executable = lab.ws.join("script");
    std::fs::write(&not_executable, "#!/bin/sh\necho hi\n").unwrap();
    let not_executable = not_executable.to_str().unwrap().to_owned();
    let missing = lab.ws.join("missing").to_str().unwrap().to_owned();
    for (what, policy) in every_isolation(&lab) {
        for (program, why) in [
            (not_executable.as_str(), "not executable"),
            (missing.as_str(), "missing"),
            ("no-such-program-anywhere", "not on PATH"),
            ("/", "a directory"),
        ] {
            let what = format!("{what}, {why}");
            fails_without_a_trace(&what, &spec(&lab, program, &[]), &policy).await;
        }
    }
}

#[tokio::test]
async fn a_working_directory_the_run_cannot_enter_leaves_no_group_behind() {
    // A working directory that exists on the host but not inside the private root fails in
    // init, after it joined the group.
    if !common::full_sandbox() || !common::cgroups() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let lab = Lab::new();
    let policy = limited(lab.policy());
    let mut spec = spec(&lab, "/bin/true", &[]);
    spec.cwd = lab.outside.clone();
    fails_without_a_trace("cwd outside the grants", &spec, &policy).await;
}
