//! `allow_spawn: false` against every way of starting another program without fork: the ELF
//! loader named by each of its paths, through a link or a copy, `execveat` by path, by directory
//! and by descriptor (`fexecve`), `/proc/self/fd`, a memfd, and the program re-executing itself.
//! Each attack is first run with spawning allowed, to prove it really starts a program there;
//! with `allow_spawn: false` it must reach its exec and be refused.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::{Lab, full_sandbox, text};

/// Perl helpers: `ex(NR, ARGS…)` prints `reached`, makes the system call and prints `denied`
/// when it returns; `argv(…)` and `$envp` are the C arrays exec wants.
const PRELUDE: &str = r#"
use strict; $| = 1;
my $L = "/lib64/ld-linux-x86-64.so.2";
my @keep;
sub argv { push @keep, [@_]; return pack("p*", @{$keep[-1]}) . pack("Q", 0) }
my $envp = pack("Q", 0);
sub ex { my ($nr, @a) = @_; print "reached\n"; syscall($nr, @a); print "denied: $!\n"; }
sub slurp { open(my $f, "<", $_[0]) or die "open $_[0]: $!"; local $/; my $d = <$f>; $d }
"#;

/// Each attack starts `echo pwned` (through the loader where it names the loader).
const ATTACKS: &[(&str, &str)] = &[
    (
        "the loader by /lib64",
        r#"ex(59, $L, argv($L, "/bin/echo", "pwned"), $envp)"#,
    ),
    (
        "the loader by /lib/x86_64-linux-gnu",
        r#"my $p = "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"; ex(59, $p, argv($p, "/bin/echo", "pwned"), $envp)"#,
    ),
    (
        "the loader by /usr/lib/x86_64-linux-gnu",
        r#"my $p = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"; ex(59, $p, argv($p, "/bin/echo", "pwned"), $envp)"#,
    ),
    (
        "the loader by /usr/lib64/../lib64",
        r#"my $p = "/usr/lib64/../lib64/ld-linux-x86-64.so.2"; ex(59, $p, argv($p, "/bin/echo", "pwned"), $envp)"#,
    ),
    (
        "a symlink to the loader in scratch",
        r#"my $p = "$ENV{HOME}/ld"; symlink($L, $p) or die "symlink: $!"; ex(59, $p, argv($p, "/bin/echo", "pwned"), $envp)"#,
    ),
    (
        "a copy of the loader in scratch",
        r#"my $p = "$ENV{HOME}/ld"; open(my $o, ">", $p) or die "copy: $!"; print $o slurp($L); close $o; chmod(0755, $p); ex(59, $p, argv($p, "/bin/echo", "pwned"), $envp)"#,
    ),
    (
        "execveat of the loader by path",
        r#"ex(322, -100, $L, argv($L, "/bin/echo", "pwned"), $envp, 0)"#,
    ),
    (
        "execveat of the loader relative to its directory",
        r#"opendir(my $d, "/usr/lib/x86_64-linux-gnu") or die "opendir: $!"; ex(322, fileno($d) // die("no dirfd"), "ld-linux-x86-64.so.2", argv("ld", "/bin/echo", "pwned"), $envp, 0)"#,
    ),
    (
        "fexecve of the loader (execveat with AT_EMPTY_PATH)",
        r#"open(my $f, "<", $L) or die "open: $!"; ex(322, fileno($f), "", argv("ld", "/bin/echo", "pwned"), $envp, 0x1000)"#,
    ),
    (
        "fexecve of another program",
        r#"open(my $f, "<", "/bin/echo") or die "open: $!"; ex(322, fileno($f), "", argv("echo", "pwned"), $envp, 0x1000)"#,
    ),
    (
        "the loader through /proc/self/fd",
        r#"open(my $f, "<", $L) or die "open: $!"; my $p = "/proc/self/fd/" . fileno($f); ex(59, $p, argv("ld", "/bin/echo", "pwned"), $envp)"#,
    ),
    (
        "a memfd holding the loader",
        r#"my $name = "x"; my $fd = syscall(319, $name, 0); die "memfd: $!" if $fd < 0; open(my $m, ">&=", $fd) or die "fdopen: $!"; binmode $m; select((select($m), $| = 1)[0]); print $m slurp($L); ex(322, $fd, "", argv("ld", "/bin/echo", "pwned"), $envp, 0x1000)"#,
    ),
    (
        "the program executing itself again",
        r#"my $p = "/usr/bin/perl"; ex(59, $p, argv("perl", "-e", "print qq(pwned\\n)"), $envp)"#,
    ),
];

#[tokio::test]
async fn every_exec_attack_works_when_spawning_is_allowed() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    for policy in both_modes(&lab, true) {
        for (name, attack) in ATTACKS {
            let o = lab.perl(&policy, &format!("{PRELUDE}{attack}")).await;
            assert!(
                text(&o.stdout).contains("pwned"),
                "{name} (namespaces {}): the attack does not even work unconfined, so its \
                 refusal proves nothing: stdout {:?} stderr {:?}",
                policy.namespaces,
                text(&o.stdout),
                text(&o.stderr)
            );
        }
    }
}

/// The policy with and without namespaces (the second only where Landlock and seccomp work).
fn both_modes(lab: &Lab, allow_spawn: bool) -> Vec<skillet_sandbox::SandboxPolicy> {
    let mut policy = lab.policy();
    policy.allow_spawn = allow_spawn;
    let mut without = policy.clone();
    without.namespaces = false;
    let mut modes = vec![policy];
    if common::landlock_and_seccomp() {
        modes.push(without);
    }
    modes
}

#[tokio::test]
async fn no_exec_attack_starts_a_program_without_allow_spawn() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut escaped = Vec::new();
    for policy in both_modes(&lab, false) {
        for (name, attack) in ATTACKS {
            let o = lab.perl(&policy, &format!("{PRELUDE}{attack}")).await;
            let out = text(&o.stdout);
            let name = format!("{name} (namespaces {})", policy.namespaces);
            assert!(
                out.contains("reached"),
                "{name}: the attack failed before its exec, so it proves nothing: {out:?} {:?}",
                text(&o.stderr)
            );
            if out.contains("pwned") || !out.contains("denied") {
                escaped.push(format!("{name}: {out:?}"));
            }
        }
    }
    assert!(escaped.is_empty(), "started a program: {escaped:#?}");
}

/// The same through a shell's `exec`, which replaces the shell without forking.
#[tokio::test]
async fn a_shell_cannot_exec_through_the_loader_without_allow_spawn() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let scripts = [
        "exec /lib64/ld-linux-x86-64.so.2 /bin/echo pwned",
        "exec /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 /bin/sh -c 'echo pwned'",
        "exec /lib/x86_64-linux-gnu/../../lib64/ld-linux-x86-64.so.2 /bin/echo pwned",
        "exec /bin/bash -c 'echo pwned'",
    ];
    for script in scripts {
        let script = format!("shopt -s execfail; {script}; echo \"denied $?\"");
        let o = lab.bash(&lab.policy(), &script).await;
        assert!(text(&o.stdout).contains("pwned"), "control {script}: {o:?}");
        let mut policy = lab.policy();
        policy.allow_spawn = false;
        let o = lab.bash(&policy, &script).await;
        let out = text(&o.stdout);
        assert!(
            !out.contains("pwned") && out.contains("denied"),
            "{script}: {out:?} {:?}",
            text(&o.stderr)
        );
    }
}

/// What stays allowed: the program itself, a script through its interpreter, and threads.
#[tokio::test]
async fn the_program_itself_still_starts_without_allow_spawn() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.allow_spawn = false;
    let o = lab.run("/bin/echo", &["fine"], &policy).await;
    assert_eq!(text(&o.stdout), "fine\n", "{o:?}");
    let script = lab.ws.join("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho scripted\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let o = lab.run(script.to_str().unwrap(), &[], &policy).await;
    assert_eq!(text(&o.stdout), "scripted\n", "{o:?}");
    // Through env, whose exec of the interpreter would be a second exec.
    let script = lab.ws.join("env-script.sh");
    std::fs::write(&script, "#!/usr/bin/env sh\necho \"via env: $*\"\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let o = lab
        .run(script.to_str().unwrap(), &["x", "y"], &policy)
        .await;
    assert_eq!(text(&o.stdout), "via env: x y\n", "{o:?}");
    let o = lab
        .run(
            "/lib64/ld-linux-x86-64.so.2",
            &["/bin/echo", "loaded"],
            &policy,
        )
        .await;
    assert_eq!(
        text(&o.stdout),
        "loaded\n",
        "the user may name the loader as the program: {o:?}"
    );
}
