//! The work a process's first confined run would otherwise do on its own clock, done ahead.
//!
//! Each of these is computed once per process and kept: what the kernel offers (the Landlock
//! ABI query, seccomp, namespaces, cgroups), the seccomp program, the scratch parent (and the
//! sweep of dead processes' scratch directories that comes with claiming it), the sweep of dead
//! processes' run cgroups, and the shared
//! empty network namespace offline runs join (for a user other than root, with the user
//! namespace that owns it). [`prepare`] does them on a thread of their own, so a command that
//! still has configuration and discovery to do overlaps them with that, and a server does them
//! before its first call arrives. Nothing here weakens a run: a run computes whatever was not
//! ready yet itself, exactly as before, and every layer is still applied per run.

use std::thread::JoinHandle;

use crate::policy::{Isolation, NetworkPolicy, SandboxPolicy};
use crate::probe;

/// The preparation under way; [`Preparing::wait`] waits for it. Dropping it lets it finish on
/// its own.
#[derive(Debug)]
#[must_use = "dropping it is fine; wait() makes the first run find everything ready"]
pub struct Preparing(Option<JoinHandle<()>>);

impl Preparing {
    /// Waits until the preparation is done (or has failed; a run then does it itself).
    pub fn wait(mut self) {
        if let Some(handle) = self.0.take() {
            let _ = handle.join(); // a panic there is met again, and reported, by the run
        }
    }
}

/// Starts preparing, in the background, what runs under `policy` (and others like it) share.
pub fn prepare(policy: &SandboxPolicy) -> Preparing {
    let policy = policy.clone();
    let handle = std::thread::Builder::new()
        .name("skillet-prepare".into())
        .spawn(move || prepare_now(&policy))
        .ok();
    Preparing(handle)
}

fn prepare_now(policy: &SandboxPolicy) {
    let caps = probe::capabilities();
    if let Ok(mode) = &caps.cgroups {
        crate::cgroup::sweep_now_and_then(mode);
    }
    if policy.fs.scratch_parent.is_none() {
        let parent = crate::scratch::default_scratch_parent();
        if crate::scratch::create_private_dir_once(&parent).is_ok() {
            let _ = crate::scratch::create_private_dir_once(&parent.join(".root"));
        }
    }
    if policy.isolation == Isolation::Disabled {
        return;
    }
    // The same condition as plan.rs's `use_namespaces`: a run has a private root only then.
    let private_root = policy.namespaces && caps.namespaces.is_ok();
    if caps.seccomp.is_ok() {
        // An error is the run's to report.
        let _ = crate::syscall_filter::build(policy, private_root);
    }
    // The same condition as plan.rs: only runs that would join the shared namespace make it.
    let scoped = caps.landlock_abi.as_ref().is_ok_and(|&abi| abi >= 6);
    if policy.namespaces
        && caps.namespaces.is_ok()
        && policy.network == NetworkPolicy::Off
        && scoped
    {
        if caps.is_root {
            let _ = crate::offline_netns::shared();
        } else {
            let _ = crate::offline_netns::shared_unprivileged();
        }
    }
}
