//! Several runs at once with the same write grant, with namespaces. Each run makes placeholders
//! for the protected names missing in the grant (placeholders.rs) in the user's directory, and
//! another run sees them as existing entries: a run must never rely on one it does not hold
//! (removed under it by the run that made it, its mount fails or its grant is split and its
//! program can create nothing in the granted directory).

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{Lab, full_sandbox, text};
use skillet_sandbox::{Exit, SandboxPolicy};

/// The protected names the engine lists at the top of every write grant, whether or not they
/// exist (skillet-engine's policy/protected.rs).
const PROTECTED: &[&str] = &[
    ".git",
    ".skillet",
    ".q-skills",
    ".agents",
    ".claude",
    "skillet.toml",
    ".env",
];

/// The policy the engine would give a run granted `dir`, listed at the moment the run starts:
/// protected names always, and `.env` masked when it exists then (the engine walks the tree,
/// and sees the placeholder another run made as an ordinary entry).
fn granted(lab: &Lab, dir: &Path) -> SandboxPolicy {
    let mut policy = lab.policy();
    policy.fs.write.push(dir.to_path_buf());
    policy
        .fs
        .read_only
        .extend(PROTECTED.iter().map(|n| dir.join(n)));
    let env = dir.join(".env");
    if env.symlink_metadata().is_ok() {
        policy.fs.hidden.push(env);
    }
    policy
}

/// What is in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn runs_sharing_a_write_grant_can_all_create_files_in_it() {
    if !full_sandbox() {
        return;
    }
    const ROUNDS: usize = 20;
    const RUNS: usize = 6;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(RUNS)
        .enable_all()
        .build()
        .unwrap();
    let lab = Arc::new(Lab::new());
    // Under /tmp, as a user's scratch folder would be: the private root has a /tmp of its own,
    // whose rule must not take the grant's writing away.
    let shared = tempfile::Builder::new()
        .prefix("skillet-grant-")
        .tempdir()
        .unwrap();
    let dir: Arc<PathBuf> = Arc::new(shared.path().canonicalize().unwrap());
    let mut expected = Vec::new();
    for round in 0..ROUNDS {
        let failures = runtime.block_on(async {
            let mut tasks = Vec::new();
            for i in 0..RUNS {
                let (lab, dir) = (lab.clone(), dir.clone());
                tasks.push(tokio::spawn(async move {
                    let policy = granted(&lab, &dir);
                    let name = format!("mark-{round}-{i}");
                    let script = format!("touch '{}/{name}' && echo made", dir.display());
                    let o = lab.sh(&policy, &script).await;
                    (name, o)
                }));
            }
            let mut failures = Vec::new();
            for task in tasks {
                let (name, o) = task.await.unwrap();
                if o.exit != Exit::Code(0) || text(&o.stdout) != "made\n" {
                    failures.push(format!(
                        "{name}: exit {:?}, stdout {:?}, stderr {:?}",
                        o.exit,
                        text(&o.stdout),
                        text(&o.stderr)
                    ));
                }
                expected.push(name);
            }
            failures
        });
        assert!(
            failures.is_empty(),
            "round {round}: runs sharing the grant {} could not create their file:\n{}",
            dir.display(),
            failures.join("\n")
        );
        // The last run of a round removed every placeholder; the user's files are all there.
        expected.sort();
        assert_eq!(entries(&dir), expected, "round {round}");
    }
}

#[test]
fn a_run_keeps_the_placeholders_it_uses_when_the_run_that_made_them_ends() {
    if !full_sandbox() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lab = Arc::new(Lab::new());
    let shared = tempfile::Builder::new()
        .prefix("skillet-grant-")
        .tempdir()
        .unwrap();
    let dir: PathBuf = shared.path().canonicalize().unwrap();
    let d = dir.display().to_string();
    // The first run makes the placeholders and ends while the second, started meanwhile (so
    // that it finds them made), still runs.
    let first = {
        let (lab, policy) = (lab.clone(), granted(&lab, &dir));
        runtime.spawn(async move { lab.sh(&policy, "sleep 1; echo first").await })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !dir.join(".git").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no placeholder was made"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = {
        let (lab, policy) = (lab.clone(), granted(&lab, &dir));
        let script = format!(
            "sleep 2.5; touch '{d}/late' && echo made; \
             test -d '{d}/.git' && echo git-still-there; \
             mkdir '{d}/.git/hooks' 2>/dev/null || echo no-hooks; \
             rmdir '{d}/.git' 2>/dev/null || echo cannot-remove; \
             mv '{d}/.git' '{d}/moved' 2>/dev/null || echo cannot-rename; \
             mv '{d}/.env' '{d}/moved' 2>/dev/null || echo cannot-rename-env; \
             echo x > '{d}/skillet.toml' 2>/dev/null || echo cannot-write-config; \
             echo x > '{d}/.env' 2>/dev/null || echo cannot-write-env"
        );
        runtime.spawn(async move { lab.sh(&policy, &script).await })
    };
    let o = runtime.block_on(first).unwrap();
    assert_eq!(text(&o.stdout), "first\n", "{o:?}");
    let o = runtime.block_on(second).unwrap();
    assert_eq!(
        text(&o.stdout),
        "made\ngit-still-there\nno-hooks\ncannot-remove\ncannot-rename\ncannot-rename-env\n\
         cannot-write-config\ncannot-write-env\n",
        "{o:?}"
    );
    // The last run removed them all; the user's file stays.
    assert_eq!(entries(&dir), vec!["late".to_owned()]);
}
