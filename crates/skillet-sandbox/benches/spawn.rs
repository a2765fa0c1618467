//! The cost of one sandboxed `/bin/true`, against a plain spawn and against bubblewrap.
//!
//! `cargo bench -p skillet-sandbox --bench spawn` (add `-- --runs N`, default 300). Prints the
//! median and p90 of each line in milliseconds, and the ratios the sandbox issue sets targets
//! for. Each sample is a whole run: spawn, wait, reap (and, for the sandbox, the scratch
//! directory and output capture a real run has).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skillet_sandbox::{Isolation, ProcessSpec, SandboxPolicy, StdinSource};

fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 9 / 10]),
    )
}

fn time_command(runs: usize, program: &str, args: &[&str]) -> Option<(f64, f64)> {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs + 10 {
        let started = Instant::now();
        let status = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        if i >= 10 {
            samples.push(started.elapsed());
        }
    }
    Some(stats(samples))
}

fn time_sandbox(runs: usize, policy: &SandboxPolicy) -> (f64, f64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let spec = ProcessSpec {
        program: "/bin/true".into(),
        args: vec![],
        cwd: "/".into(),
        stdin: StdinSource::Null,
    };
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs + 10 {
        let started = Instant::now();
        let outcome = runtime
            .block_on(skillet_sandbox::run(&spec, policy, None))
            .expect("sandboxed run");
        assert_eq!(outcome.exit, skillet_sandbox::Exit::Code(0));
        if i >= 10 {
            samples.push(started.elapsed());
        }
    }
    stats(samples)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let base = SandboxPolicy::new(Duration::from_secs(10));
    let unconfined = SandboxPolicy {
        isolation: Isolation::Disabled,
        ..base.clone()
    };
    let no_namespaces = SandboxPolicy {
        namespaces: false,
        ..base.clone()
    };

    let plain = time_command(runs, "/bin/true", &[]).expect("/bin/true runs");
    let lines: Vec<(&str, (f64, f64))> = vec![
        ("plain spawn of /bin/true", plain),
        (
            "skillet, hygiene and limits only",
            time_sandbox(runs, &unconfined),
        ),
        (
            "skillet, Landlock + seccomp + limits",
            time_sandbox(runs, &no_namespaces),
        ),
        ("skillet, full default sandbox", time_sandbox(runs, &base)),
    ];
    let ws = std::env::temp_dir();
    let ws = ws.to_string_lossy();
    let bwrap_simple = time_command(
        runs,
        "bwrap",
        &["--unshare-all", "--ro-bind", "/", "/", "true"],
    );
    let bwrap_codex = time_command(
        runs,
        "bwrap",
        &[
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--bind",
            &ws,
            &ws,
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "true",
        ],
    );
    println!("{runs} runs each; median and p90 in ms");
    for (name, (median, p90)) in &lines {
        println!(
            "{name:<42} {median:8.3} {p90:8.3}   x{:.2}",
            median / plain.0
        );
    }
    for (name, result) in [
        ("bwrap --unshare-all --ro-bind / / true", bwrap_simple),
        ("bwrap, Codex-style line", bwrap_codex),
    ] {
        match result {
            Some((median, p90)) => println!(
                "{name:<42} {median:8.3} {p90:8.3}   x{:.2}",
                median / plain.0
            ),
            None => println!("{name:<42} (bubblewrap not installed or not permitted here)"),
        }
    }
    let full = lines[3].1.0;
    if let Some((codex, _)) = bwrap_codex {
        println!(
            "full sandbox is {:.2}x faster than the Codex-style bubblewrap line",
            codex / full
        );
    }
}
