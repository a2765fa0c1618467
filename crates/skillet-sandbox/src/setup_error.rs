//! Why a confinement layer could not be prepared for a run: the Landlock ruleset, the seccomp
//! filter and the run's cgroup each have their own error, carried by [`crate::SpawnError`].
//!
//! The sources from the Landlock and seccomp crates are boxed, so their types do not become
//! part of this crate's interface.

use std::path::PathBuf;

/// A source error from a library whose type this crate does not expose.
pub type Source = Box<dyn std::error::Error + Send + Sync>;

/// The Landlock ruleset of a policy could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RulesetError {
    /// The kernel refused to make the ruleset it said it supports.
    #[error(
        "cannot build the Landlock ruleset ({step}): {source}; the kernel refused what it \
         reported as supported: run without Landlock (best-effort isolation) and report the \
         kernel version"
    )]
    Create {
        /// What was being done.
        step: &'static str,
        /// The Landlock crate's error.
        source: Source,
    },
    /// A rule for one path (or TCP port) could not be added.
    #[error(
        "cannot add a Landlock rule for {}: {source}; check that it still exists and is \
         readable by this user, or leave it out of the policy",
        at.display()
    )]
    Rule {
        /// The path the rule is for (`tcp:<port>` for a port).
        at: PathBuf,
        /// The Landlock crate's error.
        source: Source,
    },
    /// A granted directory that holds protected paths could not be listed, so its grant could
    /// not be split around them (and the run is refused rather than grant them).
    #[error(
        "cannot list {} to keep its protected entries out of the grant: {source}; make it \
         readable by this user, or grant a narrower path",
        at.display()
    )]
    List {
        /// The directory.
        at: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}

/// The seccomp filter could not be built. Apart from [`FilterError::ExecKey`], each case is a
/// mistake in this crate's own rules, not in the policy.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// The random key that marks the supervisor's own exec could not be drawn.
    #[error(
        "cannot draw the exec key from the kernel's random source: {0}; check that getrandom(2) \
         works here (a container's own seccomp profile may refuse it)"
    )]
    ExecKey(#[source] std::io::Error),
    /// Two rules for one system call contradict each other.
    #[error(
        "the seccomp rules for system call {call} are inconsistent ({problem}); this is a bug in \
         skillet: please report it"
    )]
    Inconsistent {
        /// The system call number.
        call: i64,
        /// What is wrong.
        problem: &'static str,
    },
    /// The seccomp crate refused a rule or a filter.
    #[error("cannot compile the seccomp filter: {0}; this is a bug in skillet: please report it")]
    Compile(#[source] Source),
    /// The joined program is longer than the kernel accepts.
    #[error(
        "the seccomp program has {0} instructions, over the kernel's 4096; this is a bug in \
         skillet: please report it"
    )]
    TooLong(usize),
    /// The dispatcher's jumps do not fit in a BPF instruction.
    #[error(
        "too many system calls are listed for one seccomp dispatcher; this is a bug in skillet: \
         please report it"
    )]
    TooManyCalls,
}

/// The run's cgroup could not be made or limited.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// The group's directory could not be made.
    #[error(
        "cannot create cgroup {}: {source}; check that this user may create groups there, or \
         run without memory, process and CPU limits",
        dir.display()
    )]
    Create {
        /// The group's directory.
        dir: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The kernel refused a limit.
    #[error(
        "cannot set {} to {value}: {source}; check the limit (a CPU share must be at least 1 %, \
         and the controller must be enabled for the parent group)",
        file.display()
    )]
    Limit {
        /// The control file.
        file: PathBuf,
        /// What was written.
        value: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// The file the child joins the group through could not be opened.
    #[error(
        "cannot open {} to join the run's cgroup: {source}; check that this user may write it",
        file.display()
    )]
    Join {
        /// `cgroup.procs` (v2) or `tasks` (v1).
        file: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}
