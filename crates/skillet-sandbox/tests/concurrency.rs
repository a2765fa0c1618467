//! Many runs at once from many threads. Children are cloned into the supervisor's memory (see
//! `launch/`), so a race there would show as a run getting another's output, a descriptor or
//! a stack left behind, or a child never reaped.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::{Lab, full_sandbox, text, unconfined};

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

/// Children of this process that have exited and not been reaped.
fn zombies() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z ") && s.contains(&format!(" {me} ")))
        })
        .count()
}

#[test]
fn runs_from_many_threads_keep_their_own_output_and_leave_nothing_behind() {
    if !full_sandbox() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let lab = std::sync::Arc::new(Lab::new());
    let round = |n: usize| {
        let lab = lab.clone();
        runtime.block_on(async move {
            let mut tasks = Vec::new();
            for i in 0..n {
                let lab = lab.clone();
                tasks.push(tokio::spawn(async move {
                    let mut policy = lab.policy();
                    match i % 3 {
                        0 => {}
                        1 => policy.namespaces = false,
                        _ => policy = unconfined(policy),
                    }
                    // Output on both streams, from the program and from a child of it.
                    let script = format!("echo out-{i}; echo err-{i} >&2; sh -c 'echo child-{i}'");
                    let o = lab.sh(&policy, &script).await;
                    (i, o)
                }));
            }
            for task in tasks {
                let (i, o) = task.await.unwrap();
                assert_eq!(text(&o.stdout), format!("out-{i}\nchild-{i}\n"), "{o:?}");
                assert_eq!(text(&o.stderr), format!("err-{i}\n"), "{o:?}");
            }
        });
    };
    // The first round opens what stays open for the process (the shared network namespace,
    // the runtime's own descriptors) and grows the runtime's thread pool and the allocator's
    // arenas to what 90 runs at once take; the second must leave exactly that.
    round(90);
    let (fds, maps) = (open_descriptors(), mappings());
    round(90);
    assert_eq!(open_descriptors(), fds, "descriptors were left open");
    // On a loaded machine the pool may still start a few more threads (a stack and a guard page
    // each) than the first round did; a leak per run would be 90 or more.
    assert!(
        mappings() <= maps + 24,
        "mappings grew from {maps} to {}",
        mappings()
    );
    assert_eq!(zombies(), 0, "children were left unreaped");
}

/// A supervisor busy with many runs holds many descriptors, numbered high; a run's child holds
/// copies of them until exec. The open-file limit is set last, so the child's own setup opens
/// do not fail past it (EMFILE: 51 of 300 runs failed at once before), and the program still
/// gets the limit.
#[test]
fn a_supervisor_with_many_descriptors_still_starts_runs_under_a_low_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    if !full_sandbox() {
        return;
    }
    let have = getrlimit(Resource::Nofile);
    let want = 4096;
    if have.maximum.is_some_and(|max| max < want) {
        println!("SKIPPED: the hard limit on open files is below {want}");
        return;
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(want),
            maximum: have.maximum,
        },
    )
    .unwrap();
    let null = std::fs::File::open("/dev/null").unwrap();
    let held: Vec<std::fs::File> = (0..1500).map(|_| null.try_clone().unwrap()).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lab = Lab::new();
    for namespaces in [true, false] {
        let mut policy = lab.policy();
        policy.namespaces = namespaces;
        policy.limits.max_open_files = Some(64);
        let o = runtime.block_on(lab.sh(&policy, "ulimit -n"));
        assert_eq!(
            text(&o.stdout).trim(),
            "64",
            "namespaces {namespaces}: {o:?}"
        );
    }
    drop(held);
}
