//! Supervising a run needs a Tokio runtime with I/O. Called without one, spawning is an error,
//! not a panic, and a run already started is ended before its init's memory (the stack it runs
//! on inside this process) is freed: later runs, which reuse such stacks, still work.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::{Lab, alive, unconfined};
use skillet_sandbox::{Exit, ProcessSpec, SandboxPolicy, SpawnError, StdinSource};

/// A program that sleeps for `marker` seconds, a number no other process uses, so it can be
/// found on the host whatever its pid inside a namespace.
fn sleeper(lab: &Lab, marker: &str) -> ProcessSpec {
    ProcessSpec {
        program: "/bin/sleep".into(),
        args: vec![marker.into()],
        cwd: lab.ws.clone(),
        stdin: StdinSource::Null,
        inherit_fd: None,
    }
}

/// Host pids of processes running `sleep marker`.
fn sleeping(marker: &str) -> Vec<u32> {
    let wanted = format!("sleep\0{marker}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.ends_with(wanted.as_bytes()) && alive(*pid))
        })
        .collect()
}

/// The full sandbox, without namespaces, and unconfined.
fn every_isolation(lab: &Lab) -> Vec<(&'static str, SandboxPolicy)> {
    let full = lab.policy();
    let mut flat = full.clone();
    flat.namespaces = false;
    let none = unconfined(full.clone());
    vec![
        ("namespaces", full),
        ("no namespaces", flat),
        ("unconfined", none),
    ]
}

fn says_why(what: &str, result: Result<skillet_sandbox::Confined, SpawnError>) {
    match result {
        Ok(_) => panic!("{what}: spawned without a runtime to supervise it"),
        Err(e) => assert!(
            e.to_string().contains("Tokio runtime with I/O"),
            "{what}: {e}"
        ),
    }
}

#[test]
fn spawning_outside_a_runtime_is_an_error_not_a_panic() {
    let lab = Lab::new();
    let marker = format!("3000.{}1", std::process::id());
    for (what, policy) in every_isolation(&lab) {
        says_why(
            what,
            skillet_sandbox::spawn(&sleeper(&lab, &marker), &policy),
        );
        assert_eq!(
            sleeping(&marker),
            Vec::<u32>::new(),
            "{what}: the program ran"
        );
    }
}

#[test]
fn a_run_started_in_a_runtime_without_io_is_ended_and_later_runs_work() {
    if !common::full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let no_io = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let marker = format!("3000.{}2", std::process::id());
    for _ in 0..3 {
        for (what, policy) in every_isolation(&lab) {
            let spec = sleeper(&lab, &marker);
            let result = no_io.block_on(async { skillet_sandbox::spawn(&spec, &policy) });
            says_why(what, result);
            // Killed, the run is gone at once (init was reaped before the error returned;
            // without namespaces the program's group goes with the same signal).
            let deadline = Instant::now() + Duration::from_secs(2);
            while !sleeping(&marker).is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert_eq!(
                sleeping(&marker),
                Vec::<u32>::new(),
                "{what}: the program outlived its failed start"
            );
        }
    }
    // Init's stacks were not handed back while it ran on them: runs reuse them and work.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for (what, policy) in every_isolation(&lab) {
        for _ in 0..5 {
            let out = rt.block_on(lab.sh(&policy, "echo ok"));
            assert_eq!(
                (out.exit, out.stdout.as_slice()),
                (Exit::Code(0), &b"ok\n"[..]),
                "{what}: {out:?}"
            );
        }
    }
}
