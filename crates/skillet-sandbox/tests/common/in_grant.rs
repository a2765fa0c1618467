//! Running system calls from Perl inside a write grant, in each mode the sandbox has, and
//! reading what each call answered: shared by the tests of what a run can leave in a grant
//! (setid.rs, capabilities.rs).

use skillet_sandbox::{Outcome, SandboxPolicy};

use super::{Lab, full_sandbox, landlock_and_seccomp, text};

/// `EPERM`, as the scripts print it.
pub const EPERM: &str = "1";

/// The modes a test runs in: with namespaces, then Landlock and seccomp alone.
pub fn modes() -> Vec<bool> {
    let mut out = Vec::new();
    if full_sandbox() {
        out.push(true);
    }
    if landlock_and_seccomp() {
        out.push(false);
    }
    out
}

/// A lab whose directory `outside` is write-granted, in the given mode.
pub fn granted(ns: bool) -> (Lab, SandboxPolicy) {
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.namespaces = ns;
    policy.fs.write.push(lab.outside.clone());
    (lab, policy)
}

/// Runs `body` with Perl in the write grant. `attempt NAME, RESULT` prints the name and `ok` or the
/// errno of a call; `sc` is Perl's `syscall`; `touch NAME` makes an ordinary file.
pub async fn perl(lab: &Lab, policy: &SandboxPolicy, body: &str) -> Outcome {
    let grant = lab.outside.display();
    let script = format!(
        r#"use strict; use warnings;
        chdir "{grant}" or die "chdir: $!";
        sub attempt {{ my ($name, $r) = @_; print "$name ", ($r == -1 ? $! + 0 : "ok"), "\n"; }}
        # syscall() wants writable strings: give it copies.
        sub sc {{ my ($n, @a) = @_; return syscall($n, @a); }}
        sub touch {{ open(my $f, ">", $_[0]) or die "create $_[0]: $!"; close $f; }}
        {body}"#
    );
    lab.run("/usr/bin/perl", &["-e", &script], policy).await
}

/// The `name result` lines the script printed.
pub fn results(o: &Outcome) -> Vec<(String, String)> {
    text(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, r)| (n.to_owned(), r.to_owned()))
        .collect()
}

/// Asserts the script printed exactly `expected` (`name result` pairs, in order).
pub fn assert_results(o: &Outcome, expected: &[(String, String)], what: &str) {
    assert!(
        !o.denied_syscall,
        "{what}: killed by seccomp; stderr: {}",
        text(&o.stderr)
    );
    assert_eq!(results(o), expected, "{what}; stderr: {}", text(&o.stderr));
}
