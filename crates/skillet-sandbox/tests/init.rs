//! Attacks on the process that started the program. A run's init (PID 1 of its namespaces)
//! runs inside the supervisor's own memory until the run ends, since it is cloned without
//! copying it (see `launch/`); without namespaces the run's init, the program's parent, does
//! too, and the supervisor is one step further up. So whatever a program could read or write
//! of its parent's memory, it could of the supervisor's: its secrets and its code. Each test looks at the supervisor's memory, not at
//! an exit code.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::{Lab, full_sandbox, text};
use skillet_sandbox::Exit;

/// A secret in the supervisor's static memory, and a value an attacker would overwrite.
static SECRET: &[u8; 32] = b"SUPERVISOR-MEMORY-SECRET-7f3a91c";
static TARGET: AtomicU64 = AtomicU64::new(0x5EC0_5EC0_5EC0_5EC0);

/// Reads `$ARGV[1]` and writes `$ARGV[2]` of `/proc/$ARGV[0]/mem`, and dumps the process's
/// `environ` and `maps`, printing whatever it gets.
const ATTACK: &str = r#"
my ($pid, $read_at, $write_at) = @ARGV;
$pid = getppid() if $pid eq "parent";
if (open(my $f, "<", "/proc/$pid/mem")) {
    sysseek($f, $read_at, 0);
    my $n = sysread($f, my $buf, 32);
    print "read: ", (defined $n ? $buf : "failed: $!"), "\n";
} else { print "open for reading: $!\n" }
if (open(my $f, "+<", "/proc/$pid/mem")) {
    sysseek($f, $write_at, 0);
    my $n = syswrite($f, "\x41" x 8);
    print "write: ", (defined $n ? "wrote $n" : "failed: $!"), "\n";
} else { print "open for writing: $!\n" }
for my $file ("environ", "maps") {
    if (open(my $f, "<", "/proc/$pid/$file")) { local $/; my $c = <$f>; print "$file: ", (defined $c ? $c : "failed: $!"), "\n" }
    else { print "$file: $!\n" }
}
"#;

async fn attack(
    lab: &Lab,
    policy: &skillet_sandbox::SandboxPolicy,
    pid: &str,
    extra: &str,
) -> String {
    let read_at = SECRET.as_ptr() as usize;
    let write_at = std::ptr::from_ref(&TARGET) as usize;
    let code = format!("{ATTACK}{extra}");
    let o = lab
        .run(
            "/usr/bin/perl",
            &[
                "-e",
                &code,
                pid,
                &read_at.to_string(),
                &write_at.to_string(),
            ],
            policy,
        )
        .await;
    assert_eq!(
        o.exit,
        Exit::Code(0),
        "the attack did not run to its end: {o:?}"
    );
    text(&o.stdout) + &text(&o.stderr)
}

fn assert_unharmed(seen: &str) {
    let secret = std::str::from_utf8(SECRET).unwrap();
    assert!(
        !seen.contains(secret),
        "the supervisor's memory was read: {seen}"
    );
    assert_eq!(
        TARGET.load(Ordering::SeqCst),
        0x5EC0_5EC0_5EC0_5EC0,
        "the supervisor's memory was written: {seen}"
    );
    let exe = std::env::current_exe().unwrap();
    let exe = exe.file_name().unwrap().to_string_lossy();
    assert!(
        !seen.contains(exe.as_ref()),
        "the supervisor's memory map was read: {seen}"
    );
    assert!(
        !seen.contains("PATH="),
        "the supervisor's environment was read: {seen}"
    );
}

#[tokio::test]
async fn the_program_cannot_touch_init_that_shares_the_supervisors_memory() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    // Signals to init must not end the run early either: the program would die with it.
    let seen = attack(
        &lab,
        &lab.policy(),
        "1",
        r#"kill 'KILL', 1; kill 'TERM', 1; kill 'SEGV', 1; print "init survived\n";"#,
    )
    .await;
    assert_unharmed(&seen);
    assert!(seen.contains("init survived"), "{seen}");
    // The supervisor's own id means nothing inside the PID namespace, but try it too.
    let me = std::process::id().to_string();
    assert_unharmed(&attack(&lab, &lab.policy(), &me, "").await);
}

#[tokio::test]
async fn without_namespaces_the_program_cannot_touch_the_supervisor() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.namespaces = false;
    // Its parent is the run's init, which shares the supervisor's memory; the supervisor is
    // its grandparent.
    let me = std::process::id().to_string();
    for target in ["parent", me.as_str()] {
        assert_unharmed(&attack(&lab, &policy, target, "").await);
    }
}
