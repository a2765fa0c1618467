//! A lab for sandbox tests: a workspace the sandbox may read, a directory outside it, and helpers
//! to run shell scripts confined.

#![allow(dead_code, clippy::unwrap_used)] // shared by several test binaries

pub mod in_grant;

use std::path::{Path, PathBuf};
use std::time::Duration;

use skillet_sandbox::{Isolation, Outcome, ProcessSpec, SandboxPolicy, StdinSource, probe};

pub struct Lab {
    pub tmp: tempfile::TempDir,
    /// Readable by the sandbox (its working directory).
    pub ws: PathBuf,
    /// Not granted to the sandbox.
    pub outside: PathBuf,
}

impl Lab {
    pub fn new() -> Lab {
        // Not under /tmp: a private /tmp inside the sandbox must not be what hides these.
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(base).unwrap();
        let tmp = tempfile::tempdir_in(base).unwrap();
        let ws = tmp.path().join("ws");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        Lab { tmp, ws, outside }
    }

    /// The default policy with the workspace readable.
    pub fn policy(&self) -> SandboxPolicy {
        let mut p = SandboxPolicy::new(Duration::from_secs(10));
        p.fs.read.push(self.ws.clone());
        p.fs.scratch_parent = Some(self.tmp.path().join("scratch"));
        p
    }

    pub async fn sh(&self, policy: &SandboxPolicy, script: &str) -> Outcome {
        self.run("/bin/sh", &["-c", script], policy).await
    }

    pub async fn run(&self, program: &str, args: &[&str], policy: &SandboxPolicy) -> Outcome {
        let spec = ProcessSpec {
            program: program.into(),
            args: args.iter().map(Into::into).collect(),
            cwd: self.ws.clone(),
            stdin: StdinSource::Null,
            inherit_fd: None,
        };
        skillet_sandbox::run(&spec, policy, None)
            .await
            .unwrap_or_else(|e| panic!("spawn failed: {e}"))
    }

    pub async fn bash(&self, policy: &SandboxPolicy, script: &str) -> Outcome {
        self.run("/bin/bash", &["-c", script], policy).await
    }

    pub async fn perl(&self, policy: &SandboxPolicy, code: &str) -> Outcome {
        self.run("/usr/bin/perl", &["-e", code], policy).await
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Skips (with a printed reason) unless the full sandbox is available here; with
/// `SKILLET_REQUIRE_SANDBOX=1` (as CI runs), fails instead.
pub fn full_sandbox() -> bool {
    let caps = probe::capabilities();
    layers_available(&[
        caps.landlock_abi.as_ref().err(),
        caps.seccomp.as_ref().err(),
        caps.namespaces.as_ref().err(),
    ])
}

/// Like [`full_sandbox`], for runs without namespaces: Landlock and seccomp.
pub fn landlock_and_seccomp() -> bool {
    let caps = probe::capabilities();
    layers_available(&[
        caps.landlock_abi.as_ref().err(),
        caps.seccomp.as_ref().err(),
    ])
}

/// Whether a test that cannot confine must fail rather than skip (`SKILLET_REQUIRE_SANDBOX=1`).
pub fn sandbox_required() -> bool {
    std::env::var_os("SKILLET_REQUIRE_SANDBOX").is_some_and(|v| v == "1")
}

fn layers_available(errors: &[Option<&probe::Unavailable>]) -> bool {
    let missing: Vec<String> = errors.iter().flatten().map(ToString::to_string).collect();
    if missing.is_empty() {
        return true;
    }
    let reason = format!("the sandbox is unavailable here: {}", missing.join("; "));
    assert!(
        !sandbox_required(),
        "SKILLET_REQUIRE_SANDBOX=1 and {reason}"
    );
    skipped(&reason);
    false
}

/// Skips (with a printed reason) unless cgroups can enforce limits here. With
/// `SKILLET_REQUIRE_SANDBOX=1`, root fails instead: CI's root run has cgroups, while its
/// unprivileged run has no delegated cgroup, so a user only skips.
pub fn cgroups() -> bool {
    match &probe::capabilities().cgroups {
        Ok(_) => true,
        Err(reason) => {
            assert!(
                !(sandbox_required() && rustix::process::geteuid().is_root()),
                "SKILLET_REQUIRE_SANDBOX=1 and cgroups are unavailable to root here: {reason}"
            );
            skipped(&format!("cgroups unavailable: {reason}"));
            false
        }
    }
}

/// The setuid-root copy of `id` that `.ci/run` installs for the unprivileged run
/// (`SKILLET_TEST_SETUID_ID`), or a skip: as root a setuid binary has nothing to gain, and
/// without the copy there is nothing to try (a failure with `SKILLET_REQUIRE_SANDBOX=1`, where
/// CI always provides it).
pub fn setuid_id() -> Option<PathBuf> {
    if rustix::process::geteuid().is_root() {
        skipped("running as root: a setuid binary has nothing to gain");
        return None;
    }
    let Some(path) = std::env::var_os("SKILLET_TEST_SETUID_ID") else {
        let reason = "set SKILLET_TEST_SETUID_ID to a setuid-root copy of `id` (.ci/run does, for the unprivileged run)";
        assert!(
            !sandbox_required(),
            "SKILLET_REQUIRE_SANDBOX=1 but {reason}"
        );
        skipped(reason);
        return None;
    };
    Some(PathBuf::from(path))
}

pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

/// Best effort: the run was not confined at all.
pub fn unconfined(mut p: SandboxPolicy) -> SandboxPolicy {
    p.isolation = Isolation::Disabled;
    p
}

/// Says why a test did nothing, past the test harness's output capture so it is always seen.
pub fn skipped(reason: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {}: {reason}",
        std::thread::current().name().unwrap_or("?")
    );
}
