//! The first sandboxed run in a fresh process against the later ones: the one-time cost that
//! `spawn` (one long-lived process) never shows, and that every `skillet run` and the first
//! call of every fresh `skillet mcp` pays.
//!
//! `cargo bench -p skillet-sandbox --bench first_run` (add `-- --processes N`, default 40;
//! `--prepare` calls `skillet_sandbox::prepare` first and waits for it, as a server does at
//! start). Each process is this benchmark started again; it times its runs of `/bin/true` in
//! the full default sandbox and reports the first and the median of the next four. Prints the
//! medians over the processes, and the ratio the issue sets a target for (1.5x).

use std::process::Command;
use std::time::{Duration, Instant};

use skillet_sandbox::{ProcessSpec, SandboxPolicy, StdinSource};

const CHILD: &str = "SKILLET_FIRST_RUN_CHILD";

/// In a fresh process: the times of five runs, in ms, printed on one line.
fn child(prepare: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let policy = SandboxPolicy::new(Duration::from_secs(10));
    let spec = ProcessSpec {
        program: "/bin/true".into(),
        args: vec![],
        cwd: "/".into(),
        stdin: StdinSource::Null,
        inherit_fd: None,
    };
    if prepare {
        skillet_sandbox::prepare(&policy).wait();
    }
    let times: Vec<String> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let outcome = runtime
                .block_on(skillet_sandbox::run(&spec, &policy, None))
                .expect("sandboxed run");
            assert_eq!(outcome.exit, skillet_sandbox::Exit::Code(0));
            format!("{:.4}", started.elapsed().as_secs_f64() * 1000.0)
        })
        .collect();
    println!("{}", times.join(" "));
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let prepare = args.iter().any(|a| a == "--prepare");
    if std::env::var_os(CHILD).is_some() {
        child(prepare);
        return;
    }
    let processes = args
        .iter()
        .position(|a| a == "--processes")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let me = std::env::current_exe().expect("own path");
    let (mut first, mut later) = (Vec::new(), Vec::new());
    for _ in 0..processes {
        let mut cmd = Command::new(&me);
        cmd.env(CHILD, "1");
        if prepare {
            cmd.arg("--prepare");
        }
        let out = cmd.output().expect("benchmark child");
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        assert_eq!(times.len(), 5, "child printed {times:?}");
        first.push(times[0]);
        later.push(median(times[1..].to_vec()));
    }
    let (f, l) = (median(first), median(later));
    println!(
        "{processes} fresh processes{}, full default sandbox, /bin/true; medians in ms",
        if prepare { " (prepared first)" } else { "" }
    );
    println!("first run in the process   {f:8.3}");
    println!("later runs                 {l:8.3}");
    println!("first / later              {:8.2}x   (target 1.5x)", f / l);
}
