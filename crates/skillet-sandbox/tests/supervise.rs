//! Real processes under supervision: timeouts kill the whole group, output is capped, the
//! environment is clean.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::path::Path;
use std::time::{Duration, Instant};

use skillet_sandbox::{Exit, ProcessSpec, SandboxPolicy, StdinSource, run};

fn policy(secs: u64) -> SandboxPolicy {
    SandboxPolicy {
        env_passthrough: vec!["PATH".into()],
        env: vec![],
        wall_time: Duration::from_secs(secs),
        max_output_bytes: 1024,
    }
}

fn sh(script: &str) -> ProcessSpec {
    ProcessSpec {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        cwd: ".".into(),
        stdin: StdinSource::Null,
    }
}

/// Reads the PID a script wrote, waits for the kernel to finish reaping, and says whether it lives.
fn survivor(pidfile: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    alive(pid).then_some(pid)
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[tokio::test]
async fn timeout_kills_the_grandchildren_too() {
    let tmp = tempfile::tempdir().unwrap();
    let pidfile = tmp.path().join("pid");
    let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let started = Instant::now();
    let out = run(&sh(&script), &policy(1), None).await.unwrap();
    assert!(out.timed_out);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        survivor(&pidfile),
        None,
        "a grandchild outlived the timeout"
    );
}

#[tokio::test]
async fn a_grandchild_left_behind_after_exit_is_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let pidfile = tmp.path().join("pid");
    let script = format!(
        "sleep 300 > /dev/null 2>&1 & echo $! > {}; echo done",
        pidfile.display()
    );
    let out = run(&sh(&script), &policy(10), None).await.unwrap();
    assert_eq!(
        (out.exit, out.timed_out, out.stdout.as_slice()),
        (Exit::Code(0), false, &b"done\n"[..])
    );
    assert_eq!(survivor(&pidfile), None, "a grandchild outlived the run");
}

#[tokio::test]
async fn output_is_capped_and_drained() {
    let out = run(
        &sh("head -c 5000000 /dev/zero; echo tail >&2; exit 3"),
        &policy(10),
        None,
    )
    .await
    .unwrap();
    assert_eq!(out.exit, Exit::Code(3));
    assert_eq!(out.stdout.len(), 1024);
    assert!(out.stdout_truncated && !out.stderr_truncated);
    assert_eq!(out.stderr, b"tail\n");
}

#[tokio::test]
async fn environment_is_clean_and_stdin_is_given() {
    let mut p = policy(10);
    p.env.push(("SKILL_PARAM_X".into(), "1".into()));
    let mut spec = sh("env | sort; cat");
    spec.stdin = StdinSource::Bytes(b"from-stdin".to_vec());
    let out = run(&spec, &p, None).await.unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    // sh itself may add PWD/SHLVL/_; nothing from the parent but PATH.
    for name in &names {
        assert!(
            ["PATH", "SKILL_PARAM_X", "PWD", "SHLVL", "_", "OLDPWD"].contains(name),
            "leaked {name}: {text}"
        );
    }
    assert!(text.ends_with("from-stdin"));
}

#[tokio::test]
async fn spawn_errors_are_typed() {
    let spec = ProcessSpec {
        program: "no-such-program-xyz".into(),
        args: vec![],
        cwd: ".".into(),
        stdin: StdinSource::Null,
    };
    let err = run(&spec, &policy(1), None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "program \"no-such-program-xyz\" not found on PATH"
    );
}

#[tokio::test]
async fn signals_are_reported() {
    let out = run(&sh("kill -TERM $$"), &policy(5), None).await.unwrap();
    assert_eq!(out.exit, Exit::Signal(15));
    assert_eq!(out.exit.shell_code(), 143);
}
