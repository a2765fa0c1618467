//! Attacks on the sandbox, each checked by what it would have done to the host: a file written,
//! a secret read, a process killed (attacks through the network are in network.rs). Tests that
//! need a kernel feature this machine lacks print why and skip.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::{Lab, alive, cgroups, full_sandbox, text};
use skillet_sandbox::{Exit, LimitHit};

// --- Files -------------------------------------------------------------------------------------

#[tokio::test]
async fn writes_outside_allowed_paths_fail_every_way() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.fs.write.push(lab.ws.clone());
    let out = lab.outside.display().to_string();
    std::fs::write(lab.outside.join("victim"), "original").unwrap();
    let script = format!(
        r#"
        echo direct > {out}/direct
        echo dotdot > ../outside/dotdot
        ln -s {out} planted && echo symlink > planted/symlink
        ln {out}/victim hard && echo pwned > hard
        echo root > /proc/self/root{out}/procroot
        echo cwd > /proc/self/cwd/../outside/proccwd
        echo victim >> {out}/victim
        true"#
    );
    lab.sh(&policy, &script).await;
    let left: Vec<_> = std::fs::read_dir(&lab.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["victim"], "files appeared outside the sandbox");
    assert_eq!(
        std::fs::read_to_string(lab.outside.join("victim")).unwrap(),
        "original"
    );
}

#[tokio::test]
async fn ssh_keys_and_other_state_cannot_be_read() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let home = lab.outside.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_rsa"), "SECRET-KEY-MATERIAL").unwrap();
    let other = lab.outside.join("state/other-skill");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("state.json"), "OTHER-SKILL-STATE").unwrap();
    let script = format!(
        "cat {}/.ssh/id_rsa {}/state.json; ls -a {}/.ssh; cat /etc/shadow; true",
        home.display(),
        other.display(),
        home.display()
    );
    let o = lab.sh(&lab.policy(), &script).await;
    let all = text(&o.stdout) + &text(&o.stderr);
    assert!(
        !all.contains("SECRET-KEY-MATERIAL") && !all.contains("OTHER-SKILL-STATE"),
        "{all}"
    );
    assert!(
        !text(&o.stdout).contains("id_rsa"),
        "the directory could be listed: {all}"
    );
    assert!(!all.contains("root:"), "/etc/shadow is masked: {all}");
}

#[tokio::test]
async fn git_hooks_stay_read_only_in_a_writable_workspace() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    std::fs::create_dir_all(lab.ws.join(".git/hooks")).unwrap();
    std::fs::write(lab.ws.join(".git/config"), "[core]\n").unwrap();
    // New entries go in a subdirectory: the workspace's own top level holds protected names
    // and stays as it is (docs/sandbox.md, "Protected paths").
    std::fs::create_dir(lab.ws.join("src")).unwrap();
    let mut policy = lab.policy();
    policy.fs.write.push(lab.ws.clone());
    policy.fs.read_only.push(lab.ws.join(".git/hooks"));
    policy.fs.read_only.push(lab.ws.join(".git/config"));
    let o = lab.sh(&policy, "echo evil > .git/hooks/pre-commit; echo '[alias] x = !evil' >> .git/config; echo ok > src/allowed").await;
    assert!(!lab.ws.join(".git/hooks/pre-commit").exists());
    assert_eq!(
        std::fs::read_to_string(lab.ws.join(".git/config")).unwrap(),
        "[core]\n"
    );
    assert_eq!(
        std::fs::read_to_string(lab.ws.join("src/allowed")).unwrap(),
        "ok\n",
        "the rest of the workspace is writable: {}",
        text(&o.stderr)
    );
}

#[tokio::test]
async fn an_inherited_descriptor_cannot_be_written() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let target = lab.outside.join("fd-target");
    let file = std::fs::File::create(&target).unwrap();
    // Make it inheritable, as a careless parent might.
    rustix::io::fcntl_setfd(&file, rustix::io::FdFlags::empty()).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    lab.sh(&lab.policy(), &format!("echo pwned >&{fd}; true"))
        .await;
    drop(file);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
}

// --- Processes ----------------------------------------------------------------------------------

#[tokio::test]
async fn host_processes_cannot_be_seen_signalled_or_traced() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut canary = std::process::Command::new("sleep")
        .arg("30")
        .env("CANARY_SECRET", "ENVIRON-SECRET")
        .spawn()
        .unwrap();
    let pid = canary.id();
    let me = std::process::id();
    let o = lab
        .sh(
            &lab.policy(),
            &format!("kill -9 {pid} {me}; cat /proc/{pid}/environ; ls /proc | grep -c '^[0-9]'"),
        )
        .await;
    assert!(alive(pid), "the sandbox killed a host process");
    assert!(!text(&o.stdout).contains("ENVIRON-SECRET"));
    let visible: u32 = text(&o.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    assert!(visible <= 5, "the sandbox sees {visible} processes");
    // ptrace is refused outright (the process dies with SIGSYS).
    let o = lab
        .perl(
            &lab.policy(),
            &format!("syscall(101, 16, {me}, 0, 0); print \"survived\\n\""),
        )
        .await;
    assert!(
        o.denied_syscall && !text(&o.stdout).contains("survived"),
        "{o:?}"
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    assert!(status.contains("TracerPid:\t0"));
    canary.kill().unwrap();
    let _ = canary.wait();
}

#[tokio::test]
async fn namespace_and_kernel_escapes_are_killed() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    for (what, code) in [
        ("unshare", "syscall(272, 0x10000000); print \"escaped\\n\""), // unshare(CLONE_NEWUSER)
        ("setns", "syscall(308, 0, 0); print \"escaped\\n\""),         // setns
        (
            "io_uring",
            "my $p = \"\\0\" x 120; syscall(425, 8, $p); print \"escaped\\n\"",
        ), // io_uring_setup
        (
            "mount",
            "my ($s, $t, $f) = (\"none\", \"/tmp\", \"tmpfs\"); syscall(165, $s, $t, $f, 0, 0); print \"escaped\\n\"",
        ),
        ("bpf", "syscall(321, 0, 0, 0); print \"escaped\\n\""),
        ("x32 ABI", "syscall(0x40000000 + 39); print \"escaped\\n\""), // getpid via x32
    ] {
        let o = lab.perl(&lab.policy(), code).await;
        assert!(o.denied_syscall, "{what} was not refused: {o:?}");
        assert!(!text(&o.stdout).contains("escaped"), "{what}");
    }
    // The real tool fails too.
    let o = lab.sh(&lab.policy(), "unshare -r id && echo escaped").await;
    assert!(!text(&o.stdout).contains("escaped"));
}

#[tokio::test]
async fn terminal_injection_is_refused_by_the_filter() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    // On /dev/null TIOCSTI would fail with ENOTTY (25); the filter answers EPERM (1) first.
    let o = lab
        .perl(
            &lab.policy(),
            "my $c = \"x\"; ioctl(STDIN, 0x5412, $c); print $! + 0",
        )
        .await;
    assert_eq!(text(&o.stdout), "1");
}

#[tokio::test]
async fn a_setuid_binary_gains_nothing() {
    if !full_sandbox() {
        return;
    }
    let Some(setuid_id) = common::setuid_id() else {
        return;
    };
    let lab = Lab::new();
    let mut policy = lab.policy();
    let dir = std::path::Path::new(&setuid_id)
        .parent()
        .unwrap()
        .to_path_buf();
    policy.fs.read.push(dir);
    let o = lab
        .sh(
            &policy,
            &format!("{} -u", std::path::Path::new(&setuid_id).display()),
        )
        .await;
    assert_ne!(text(&o.stdout).trim(), "0", "a setuid binary ran as root");
}

#[tokio::test]
async fn secrets_in_the_environment_do_not_leak() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    // The test's own environment is the parent's; only PATH is passed by the policy.
    let o = lab
        .sh(&lab.policy(), "env; cat /proc/1/environ | tr '\\0' '\\n'")
        .await;
    let names: Vec<String> = text(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_owned()))
        .collect();
    for name in &names {
        assert!(
            ["PATH", "HOME", "TMPDIR", "PWD", "SHLVL", "_", "OLDPWD"].contains(&name.as_str()),
            "leaked {name}"
        );
    }
}

#[tokio::test]
async fn a_grandchild_never_outlives_the_run() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.fs.write.push(lab.outside.clone());
    policy.limits.wall_time = Duration::from_secs(1);
    let beat = lab.outside.join("heartbeat");
    // A daemonized grandchild (new session, reparented) that keeps writing.
    let script = format!(
        "setsid sh -c 'while true; do date +%s%N > {}; sleep 0.05; done' & sleep 30",
        beat.display()
    );
    let started = Instant::now();
    let o = lab.sh(&policy, &script).await;
    assert_eq!(o.limit, Some(LimitHit::Time));
    assert!(started.elapsed() < Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(200));
    let before = std::fs::read_to_string(&beat).unwrap_or_default();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        std::fs::read_to_string(&beat).unwrap_or_default(),
        before,
        "a grandchild is still running"
    );
}

// --- Resources ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_fork_bomb_is_contained() {
    // As root the pids cgroup caps processes; as a user, the limit inside the user namespace.
    if !full_sandbox() || (rustix::process::geteuid().is_root() && !cgroups()) {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.limits.max_processes = Some(64);
    policy.limits.wall_time = Duration::from_secs(3);
    let marker = format!("forkbomb{}", std::process::id());
    let started = Instant::now();
    // Whether the top shell still manages to fork its `sleep` decides whether the run fails on
    // its own or meets the clock; both are containment, so both are accepted below.
    let o = lab
        .sh(
            &policy,
            &format!("{marker}() {{ {marker} | {marker} & }}; {marker}; sleep 30"),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    if rustix::process::geteuid().is_root() {
        assert!(
            matches!(o.limit, Some(LimitHit::Time | LimitHit::Processes)),
            "{o:?}"
        );
    } else {
        assert!(matches!(o.limit, None | Some(LimitHit::Time)), "{o:?}");
        assert_ne!(o.exit, Exit::Code(0));
    }
    // Not one bomb process is left, and the host still starts processes.
    std::thread::sleep(Duration::from_millis(100));
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .filter(|c| c.contains(&marker))
        .collect();
    assert!(survivors.is_empty(), "still running: {survivors:?}");
    assert!(
        std::process::Command::new("true")
            .status()
            .unwrap()
            .success()
    );
}

#[tokio::test]
async fn a_memory_bomb_is_stopped_by_the_memory_limit() {
    if !full_sandbox() || !cgroups() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.limits.memory_bytes = Some(64 << 20);
    let o = lab
        .perl(
            &policy,
            "my $x = 'a' x (512 * 1024 * 1024); print length($x);",
        )
        .await;
    assert_eq!(o.limit, Some(LimitHit::Memory), "{o:?}");
}

#[tokio::test]
async fn a_cpu_spin_is_stopped_by_the_cpu_limit() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.limits.cpu_time = Some(Duration::from_secs(1));
    let started = Instant::now();
    let o = lab.sh(&policy, "while :; do :; done").await;
    assert_eq!(o.limit, Some(LimitHit::Cpu));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn filling_the_disk_stops_at_the_file_size_limit() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.limits.max_file_size_bytes = Some(1 << 20);
    policy.keep_scratch = true;
    let o = lab
        .sh(
            &policy,
            "exec dd if=/dev/zero of=\"$TMPDIR/fill\" bs=1M count=100",
        )
        .await;
    assert_eq!(o.limit, Some(LimitHit::FileSize));
    let kept = o.scratch_kept.clone().unwrap();
    assert!(std::fs::metadata(kept.join("fill")).unwrap().len() <= 1 << 20);
    std::fs::remove_dir_all(kept).unwrap();
}

#[tokio::test]
async fn an_output_flood_is_cut_and_stopped() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.limits.max_output_bytes = 64 * 1024;
    let started = Instant::now();
    let o = lab
        .sh(&policy, "head -c 100000000 /dev/zero; sleep 30")
        .await;
    assert_eq!(
        (o.limit, o.stdout.len(), o.stdout_truncated),
        (Some(LimitHit::Output), 64 * 1024, true)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn without_allow_spawn_no_process_is_started_or_executed() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.allow_spawn = false;
    // A builtin works; a forked child, a second shell and an exec of another program do not.
    let o = lab
        .sh(
            &policy,
            "echo one; /bin/echo two; (echo three); sh -c 'echo four'; exec /bin/echo five",
        )
        .await;
    assert_eq!(text(&o.stdout), "one\n", "stderr: {}", text(&o.stderr));
    // Threads are still allowed: perl is single-threaded, but the exec of the program itself and
    // its own work go through.
    let o = lab.perl(&policy, "print 6 * 7").await;
    assert_eq!(text(&o.stdout), "42", "stderr: {}", text(&o.stderr));
    let o = lab
        .perl(
            &policy,
            "my $pid = fork(); print defined $pid ? \"forked\" : \"refused\"",
        )
        .await;
    assert_eq!(text(&o.stdout), "refused");
    let o = lab
        .perl(&policy, "exec('/bin/echo', 'escaped') or print \"refused\"")
        .await;
    assert_eq!(text(&o.stdout), "refused");
}

#[tokio::test]
async fn the_process_limit_holds() {
    // As root the pids cgroup enforces it; as a user, RLIMIT_NPROC inside the user namespace.
    if !full_sandbox() || (rustix::process::geteuid().is_root() && !cgroups()) {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.limits.max_processes = Some(20);
    let o = lab
        .perl(&policy, "my $n = 0; for (1..200) { my $p = fork(); last unless defined $p; if ($p == 0) { sleep 2; exit } $n++ } print $n")
        .await;
    let forked: u32 = text(&o.stdout).trim().parse().unwrap_or(999);
    assert!(
        (10..20).contains(&forked),
        "{forked} processes started under a limit of 20: {}",
        text(&o.stderr)
    );
}

#[tokio::test]
async fn a_run_that_fails_at_the_process_limit_says_so() {
    // Only the pids cgroup records refused forks; RLIMIT_NPROC leaves no trace to read.
    if !full_sandbox() || !cgroups() {
        return;
    }
    if !rustix::process::geteuid().is_root() {
        common::skipped("not root: only root's runs have a pids cgroup that records refusals");
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.limits.max_processes = Some(5);
    let o = lab
        .sh(&policy, "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait")
        .await;
    assert_eq!(o.limit, Some(LimitHit::Processes), "{o:?}");
    // A run that meets the limit but handles it and succeeds is not blamed on it.
    let o = lab
        .sh(
            &policy,
            "for i in 1 2 3 4 5 6 7 8; do (sleep 1 &) 2>/dev/null || true; done; exit 0",
        )
        .await;
    assert_eq!(o.limit, None, "{o:?}");
}
