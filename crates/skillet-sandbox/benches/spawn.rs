//! The cost of one sandboxed `/bin/true`, against a plain spawn and against bubblewrap.
//!
//! `cargo bench -p skillet-sandbox --bench spawn` (add `-- --runs N`, default 300; `--only
//! unconfined|no-namespaces|full` times one sandbox line alone, for profiling). Prints the
//! median and p90 of each line in milliseconds, and the ratios the sandbox issue sets targets
//! for. Each sample is a whole run: spawn, wait, reap (and, for the sandbox, the scratch
//! directory and output capture a real run has). The lines take turns in blocks (see
//! `measure`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skillet_sandbox::{Isolation, ProcessSpec, SandboxPolicy, StdinSource};

/// One line of the table: how to take one sample.
enum Line {
    Command(&'static str, Vec<String>),
    Sandbox(Box<SandboxPolicy>),
}

struct Sampler {
    runtime: tokio::runtime::Runtime,
    spec: ProcessSpec,
}

impl Sampler {
    /// Times one run of `line`; `None` when the line cannot run here (bubblewrap missing).
    fn sample(&self, line: &Line) -> Option<Duration> {
        let started = Instant::now();
        match line {
            Line::Command(program, args) => {
                let status = Command::new(program)
                    .args(args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .ok()?;
                status.success().then_some(())?;
            }
            Line::Sandbox(policy) => {
                let outcome = self
                    .runtime
                    .block_on(skillet_sandbox::run(&self.spec, policy, None))
                    .expect("sandboxed run");
                assert_eq!(outcome.exit, skillet_sandbox::Exit::Code(0));
            }
        }
        Some(started.elapsed())
    }
}

fn stats(mut samples: Vec<Duration>) -> Option<(f64, f64)> {
    if samples.is_empty() {
        return None;
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Some((
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 9 / 10]),
    ))
}

/// Samples every line `runs` times after ten unrecorded warm-up runs each. The lines take
/// turns in blocks of `BLOCK` runs: within a block a line pays only for its own clean-up (the
/// kernel tears namespaces down after the process has gone), and over the blocks a change in
/// the machine's load touches every line alike.
fn measure(sampler: &Sampler, lines: &[Line], runs: usize) -> Vec<Option<(f64, f64)>> {
    const BLOCK: usize = 50;
    let mut samples = vec![Vec::with_capacity(runs); lines.len()];
    let mut works = vec![true; lines.len()];
    for (i, line) in lines.iter().enumerate() {
        for _ in 0..10 {
            works[i] &= sampler.sample(line).is_some();
        }
    }
    let mut done = 0;
    while done < runs {
        let block = BLOCK.min(runs - done);
        for (i, line) in lines.iter().enumerate() {
            for _ in 0..block {
                if !works[i] {
                    break;
                }
                match sampler.sample(line) {
                    Some(d) => samples[i].push(d),
                    None => works[i] = false,
                }
            }
        }
        done += block;
    }
    samples
        .into_iter()
        .zip(works)
        .map(|(s, ok)| if ok { stats(s) } else { None })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs = flag("--runs").and_then(|n| n.parse().ok()).unwrap_or(300);
    let base = SandboxPolicy::new(Duration::from_secs(10));
    let unconfined = SandboxPolicy {
        isolation: Isolation::Disabled,
        ..base.clone()
    };
    let no_namespaces = SandboxPolicy {
        namespaces: false,
        ..base.clone()
    };
    let sampler = Sampler {
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
        spec: ProcessSpec {
            program: "/bin/true".into(),
            args: vec![],
            cwd: "/".into(),
            stdin: StdinSource::Null,
            inherit_fd: None,
        },
    };

    if let Some(only) = flag("--only") {
        let policy = match only.as_str() {
            "unconfined" => unconfined,
            "no-namespaces" => no_namespaces,
            _ => base,
        };
        if let Some((median, p90)) = measure(&sampler, &[Line::Sandbox(Box::new(policy))], runs)[0]
        {
            println!("{only}: median {median:.3} ms, p90 {p90:.3} ms");
        }
        return;
    }

    let ws = std::env::temp_dir().to_string_lossy().into_owned();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let lines = vec![
        (
            "plain spawn of /bin/true",
            Line::Command("/bin/true", vec![]),
        ),
        (
            "skillet, hygiene and limits only",
            Line::Sandbox(Box::new(unconfined)),
        ),
        (
            "skillet, Landlock + seccomp + limits",
            Line::Sandbox(Box::new(no_namespaces)),
        ),
        (
            "skillet, full default sandbox",
            Line::Sandbox(Box::new(base)),
        ),
        (
            "bwrap --unshare-all --ro-bind / / true",
            Line::Command(
                "bwrap",
                strings(&["--unshare-all", "--ro-bind", "/", "/", "true"]),
            ),
        ),
        (
            "bwrap, Codex-style line",
            Line::Command(
                "bwrap",
                strings(&[
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
                ]),
            ),
        ),
    ];
    let (names, kinds): (Vec<&str>, Vec<Line>) = lines.into_iter().unzip();
    let results = measure(&sampler, &kinds, runs);
    let plain = results[0].expect("/bin/true runs").0;
    println!("{runs} runs each, lines in turns of 50; median and p90 in ms");
    for (name, result) in names.iter().zip(&results) {
        match result {
            Some((median, p90)) => {
                println!("{name:<42} {median:8.3} {p90:8.3}   x{:.2}", median / plain)
            }
            None => println!("{name:<42} (bubblewrap not installed or not permitted here)"),
        }
    }
    if let (Some((full, _)), Some((codex, _))) = (results[3], results[5]) {
        println!(
            "full sandbox is {:.2}x faster than the Codex-style bubblewrap line",
            codex / full
        );
    }
}
