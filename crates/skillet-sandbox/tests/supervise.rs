//! Supervision without confinement concerns: timeouts, output, environment, stdin, spawn errors.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::{Lab, text, unconfined};
use skillet_sandbox::{Exit, LimitHit, ProcessSpec, StdinSource, run};

/// Reads the PID a script wrote, lets the kernel finish reaping, and says whether it lives.
fn survives(pidfile: &std::path::Path) -> bool {
    let pid: u32 = std::fs::read_to_string(pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    common::alive(pid)
}

#[tokio::test]
async fn timeout_kills_the_grandchildren_too_even_unconfined() {
    let lab = Lab::new();
    let pidfile = lab.ws.join("pid");
    let mut policy = unconfined(lab.policy());
    policy.limits.wall_time = Duration::from_secs(1);
    let started = Instant::now();
    let out = lab
        .sh(
            &policy,
            &format!("sleep 300 & echo $! > {}; wait", pidfile.display()),
        )
        .await;
    assert_eq!(out.limit, Some(LimitHit::Time));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(!survives(&pidfile), "a grandchild outlived the timeout");
}

#[tokio::test]
async fn a_grandchild_left_behind_after_exit_is_killed_even_unconfined() {
    let lab = Lab::new();
    let pidfile = lab.ws.join("pid");
    let out = lab
        .sh(
            &unconfined(lab.policy()),
            &format!(
                "sleep 300 > /dev/null 2>&1 & echo $! > {}; echo done",
                pidfile.display()
            ),
        )
        .await;
    assert_eq!(
        (out.exit, out.limit, out.stdout.as_slice()),
        (Exit::Code(0), None, &b"done\n"[..])
    );
    assert!(!survives(&pidfile), "a grandchild outlived the run");
}

#[tokio::test]
async fn exit_codes_signals_and_stderr_come_back() {
    let lab = Lab::new();
    let out = lab
        .sh(&lab.policy(), "echo out; echo err >&2; exit 3")
        .await;
    assert_eq!(
        (out.exit, text(&out.stdout), text(&out.stderr)),
        (Exit::Code(3), "out\n".into(), "err\n".into())
    );
    let out = lab.sh(&lab.policy(), "kill -TERM $$").await;
    assert_eq!(out.exit, Exit::Signal(15));
    assert_eq!(out.exit.shell_code(), 143);
}

#[tokio::test]
async fn environment_is_clean_and_stdin_is_given() {
    let lab = Lab::new();
    let mut p = lab.policy();
    p.env.push(("SKILL_PARAM_X".into(), "1".into()));
    let spec = ProcessSpec {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), "env | sort; cat".into()],
        cwd: lab.ws.clone(),
        stdin: StdinSource::Bytes(b"from-stdin".to_vec()),
        inherit_fd: None,
    };
    let out = run(&spec, &p, None).await.unwrap();
    let stdout = text(&out.stdout);
    let names: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    for name in &names {
        assert!(
            [
                "PATH",
                "HOME",
                "TMPDIR",
                "SKILL_PARAM_X",
                "PWD",
                "SHLVL",
                "_",
                "OLDPWD"
            ]
            .contains(name),
            "leaked {name}: {stdout}"
        );
    }
    assert!(stdout.ends_with("from-stdin"));
}

#[tokio::test]
async fn spawn_errors_are_typed() {
    let lab = Lab::new();
    let spec = ProcessSpec {
        program: "no-such-program-xyz".into(),
        args: vec![],
        cwd: lab.ws.clone(),
        stdin: StdinSource::Null,
        inherit_fd: None,
    };
    let err = run(&spec, &lab.policy(), None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "program \"no-such-program-xyz\" not found on PATH"
    );
}

#[tokio::test]
async fn the_scratch_directory_is_removed_unless_kept() {
    let lab = Lab::new();
    let out = lab
        .sh(&lab.policy(), "echo data > \"$TMPDIR/f\"; echo \"$TMPDIR\"")
        .await;
    assert!(out.scratch_kept.is_none());
    let scratch = lab.tmp.path().join("scratch");
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != ".root")
        .collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
}

#[tokio::test]
async fn a_daemonized_grandchild_dies_with_the_run_even_unconfined_when_cgroups_work() {
    if !common::cgroups() {
        return;
    }
    let lab = Lab::new();
    let pidfile = lab.ws.join("pid");
    let mut policy = unconfined(lab.policy());
    policy.limits.max_processes = Some(64);
    let script = format!(
        "setsid sleep 300 > /dev/null 2>&1 & echo $! > {}; echo done",
        pidfile.display()
    );
    let out = lab.sh(&policy, &script).await;
    assert_eq!(out.exit, Exit::Code(0));
    assert!(
        !survives(&pidfile),
        "a daemonized grandchild outlived the run"
    );
}

#[tokio::test]
async fn daemonized_grandchildren_die_with_the_run_without_cgroups_or_namespaces() {
    // Without namespaces and without a cgroup only the run's init, a subreaper, can find a
    // process that left the group: daemonized by a double fork, then by setsid, and one that
    // is still running when a timeout ends the run.
    let lab = Lab::new();
    let mut policies = Vec::new();
    for confined in [false, true] {
        let mut p = if confined {
            lab.policy()
        } else {
            unconfined(lab.policy())
        };
        p.namespaces = false;
        (
            p.limits.memory_bytes,
            p.limits.max_processes,
            p.limits.cpu_percent,
        ) = (None, None, None);
        policies.push(p);
    }
    if common::full_sandbox() {
        policies.push(lab.policy());
    }
    for policy in &policies {
        let (first, second) = (lab.ws.join("first"), lab.ws.join("second"));
        let script = format!(
            "(setsid sh -c 'echo $$ > {}; exec sleep 300' > /dev/null 2>&1 &); \
             setsid sleep 300 > /dev/null 2>&1 & echo $! > {}; sleep 0.2; echo done",
            first.display(),
            second.display()
        );
        let out = lab.sh(policy, &script).await;
        assert_eq!(text(&out.stdout), "done\n", "{out:?}");
        for pidfile in [&first, &second] {
            assert!(
                !survives(pidfile),
                "a daemonized grandchild outlived the run"
            );
        }
        let mut timed = policy.clone();
        timed.limits.wall_time = Duration::from_secs(1);
        let script = format!(
            "(setsid sh -c 'echo $$ > {}; exec sleep 300' > /dev/null 2>&1 &); sleep 300",
            first.display()
        );
        let out = lab.sh(&timed, &script).await;
        assert_eq!(out.limit, Some(LimitHit::Time), "{out:?}");
        assert!(
            !survives(&first),
            "a daemonized grandchild outlived the timeout"
        );
    }
}

#[tokio::test]
async fn a_scratch_directory_prepared_by_someone_else_is_refused() {
    let lab = Lab::new();
    let trap = lab.tmp.path().join("shared");
    std::fs::create_dir_all(&trap).unwrap();
    std::fs::set_permissions(&trap, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let mut policy = lab.policy();
    policy.fs.scratch_parent = Some(trap.clone());
    let spec = ProcessSpec {
        program: "/bin/true".into(),
        args: vec![],
        cwd: lab.ws.clone(),
        stdin: StdinSource::Null,
        inherit_fd: None,
    };
    let err = run(&spec, &policy, None).await.unwrap_err().to_string();
    assert!(err.contains("mode 0700"), "{err}");
    // A symlink planted in its place is refused too.
    let link = lab.tmp.path().join("link");
    std::os::unix::fs::symlink(&lab.outside, &link).unwrap();
    policy.fs.scratch_parent = Some(link);
    assert!(run(&spec, &policy, None).await.is_err());
}

/// A spawned process stays up between writes, and dropping its handle kills and reaps it.
#[tokio::test]
async fn a_spawned_process_answers_each_write_and_dies_with_its_handle() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let lab = Lab::new();
    let spec = ProcessSpec {
        program: "cat".into(),
        args: vec![],
        cwd: lab.ws.clone(),
        stdin: StdinSource::Pipe,
        inherit_fd: None,
    };
    let mut cat = skillet_sandbox::spawn(&spec, &lab.policy()).unwrap();
    let pid = cat.id().unwrap();
    let mut stdin = cat.stdin.take().unwrap();
    let mut lines = tokio::io::BufReader::new(cat.stdout.take().unwrap()).lines();
    for word in ["one", "two"] {
        stdin
            .write_all(format!("{word}\n").as_bytes())
            .await
            .unwrap();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some(word));
    }
    let scratch = cat.scratch().unwrap().to_path_buf();
    assert!(scratch.is_dir());
    drop(cat);
    assert!(!common::alive(pid), "the process outlived its handle");
    assert!(
        !scratch.exists(),
        "the scratch directory outlived its handle"
    );
}

// --- Disk limits -------------------------------------------------------------------------------

/// Every writable scratch place shares one cap: each alone, and two together past it.
#[tokio::test]
async fn all_scratch_together_stops_at_the_scratch_cap() {
    if !common::full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.limits.scratch_bytes = 8 << 20;
    let fill = |dir: &str, mib: u32| format!("dd if=/dev/zero of=\"{dir}/fill\" bs=1M count={mib}");
    let mut scripts: Vec<String> = ["$HOME", "$TMPDIR", "/tmp", "/var/tmp", "/run", "/dev/shm"]
        .iter()
        .map(|dir| format!("{} 2>&1", fill(dir, 64)))
        .collect();
    // Five and five MiB: each fits alone, not together.
    scripts.push(format!("{} && {}", fill("$HOME", 5), fill("/tmp", 5)));
    scripts.push(format!(
        "{} && {}",
        fill("/dev/shm", 5),
        fill("/var/tmp", 5)
    ));
    for script in &scripts {
        let o = lab.sh(&policy, script).await;
        assert_eq!(
            (o.limit, o.exit == Exit::Code(0)),
            (Some(LimitHit::ScratchDisk), false),
            "{script}: {o:?}"
        );
        assert!(
            text(&o.stdout).contains("No space left") || text(&o.stderr).contains("No space left"),
            "{script}: {o:?}"
        );
    }
    // Empty files count too: the tmpfs has one inode per page of the cap (at least 16k).
    let o = lab
        .sh(
            &policy,
            "i=0; while [ $i -lt 40000 ]; do : > \"$HOME/f$i\" || exit 1; i=$((i + 1)); done",
        )
        .await;
    assert_eq!(o.limit, Some(LimitHit::ScratchDisk), "{o:?}");
    // Under the cap, nothing is reported.
    let o = lab
        .sh(
            &policy,
            &format!("{} && {}", fill("$HOME", 3), fill("/tmp", 3)),
        )
        .await;
    assert_eq!((o.exit, o.limit), (Exit::Code(0), None), "{o:?}");
    // A run that fails for another reason with room left is not blamed on the disk.
    let o = lab
        .sh(&policy, &format!("{}; exit 3", fill("$HOME", 1)))
        .await;
    assert_eq!((o.exit, o.limit), (Exit::Code(3), None), "{o:?}");
}

/// Without namespaces only the scratch directory is writable, and the supervisor measures it.
#[tokio::test]
async fn without_namespaces_a_run_past_the_scratch_cap_is_stopped() {
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.namespaces = false;
    policy.limits.scratch_bytes = 8 << 20;
    let started = Instant::now();
    let o = lab
        .sh(
            &policy,
            "dd if=/dev/zero of=\"$HOME/fill\" bs=1M count=32 2>/dev/null; sleep 20",
        )
        .await;
    assert_eq!(o.limit, Some(LimitHit::ScratchDisk), "{o:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let o = lab
        .sh(
            &policy,
            "dd if=/dev/zero of=\"$HOME/fill\" bs=1M count=2 2>/dev/null",
        )
        .await;
    assert_eq!((o.exit, o.limit), (Exit::Code(0), None), "{o:?}");
}

/// A kept scratch directory holds what the run wrote, though it lived in the run's tmpfs: files,
/// directories, and links as links; nothing else.
#[tokio::test]
async fn a_kept_scratch_directory_holds_what_the_run_wrote() {
    if !common::full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.keep_scratch = true;
    let o = lab
        .sh(
            &policy,
            "mkdir -p \"$HOME/a/b\" && echo deep > \"$HOME/a/b/f\" && ln -s /etc/hostname \"$HOME/l\" \
             && echo top > \"$TMPDIR/t\" && mkfifo \"$HOME/fifo\"",
        )
        .await;
    assert_eq!(o.exit, Exit::Code(0), "{o:?}");
    let kept = o.scratch_kept.clone().unwrap();
    assert_eq!(
        std::fs::read_to_string(kept.join("a/b/f")).unwrap(),
        "deep\n"
    );
    assert_eq!(std::fs::read_to_string(kept.join("t")).unwrap(), "top\n");
    assert_eq!(
        std::fs::read_link(kept.join("l")).unwrap(),
        std::path::Path::new("/etc/hostname")
    );
    // A FIFO is not copied (reading it would wait for a writer that is gone).
    assert!(!kept.join("fifo").exists());
    std::fs::remove_dir_all(kept).unwrap();
}

/// A file-size limit hit is a limit, however the writer took it: killed itself, killed inside a
/// script that reports it, or ignoring SIGXFSZ and failing on EFBIG, in HOME or /tmp.
#[tokio::test]
async fn the_file_size_limit_is_reported_however_the_writer_takes_it() {
    if !common::full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.limits.max_file_size_bytes = Some(1 << 20);
    let dd = |dir: &str| format!("dd if=/dev/zero of=\"{dir}/big\" bs=64K count=64");
    let ignoring = |dir: &str| {
        format!(
            "$SIG{{XFSZ}} = 'IGNORE'; open(my $f, '>', \"{dir}/big\") or die; \
             print $f ('x' x 4_000_000) or die \"write: $!\"; close($f) or die \"close: $!\""
        )
    };
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            "/bin/sh".into(),
            vec!["-c".into(), format!("exec {}", dd("$HOME"))],
        ),
        (
            "/bin/sh".into(),
            vec!["-c".into(), format!("{} && echo done", dd("$HOME"))],
        ),
        (
            "/bin/sh".into(),
            vec!["-c".into(), format!("{}; exit $?", dd("/tmp"))],
        ),
        (
            "/usr/bin/perl".into(),
            vec!["-e".into(), ignoring("$ENV{HOME}")],
        ),
        ("/usr/bin/perl".into(), vec!["-e".into(), ignoring("/tmp")]),
    ];
    // Without namespaces only HOME is writable scratch, and it is a host directory.
    let mut without_namespaces = policy.clone();
    without_namespaces.namespaces = false;
    for (program, args) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = lab.run(program, &args, &policy).await;
        assert_eq!(o.limit, Some(LimitHit::FileSize), "{args:?}: {o:?}");
        if !args.iter().any(|a| a.contains("/tmp")) {
            let o = lab.run(program, &args, &without_namespaces).await;
            assert_eq!(
                o.limit,
                Some(LimitHit::FileSize),
                "no namespaces, {args:?}: {o:?}"
            );
        }
    }
    assert_eq!(LimitHit::FileSize.as_str(), "max_file_size");
    // Small files and a failure of another kind are not blamed on the limit.
    let o = lab
        .sh(
            &policy,
            "dd if=/dev/zero of=\"$HOME/small\" bs=1K count=10 2>/dev/null; exit 4",
        )
        .await;
    assert_eq!((o.exit, o.limit), (Exit::Code(4), None), "{o:?}");
}
