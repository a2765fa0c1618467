//! Attacks on the paths a policy grants, protects and masks: links planted after the policy
//! was made, protected paths written, removed, renamed away, recreated or created before
//! they exist, hard links out of them, device nodes and set-user-ID files in write grants, and
//! masked files read. Each runs with namespaces and without (Landlock alone), and CI runs the
//! binary as root and as an unprivileged user. Each checks what the host would see.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::path::Path;

use common::{Lab, full_sandbox, landlock_and_seccomp, text};
use skillet_sandbox::{Outcome, ProcessSpec, SandboxPolicy, SpawnError, StdinSource};

/// The modes a test runs in: with namespaces, then Landlock alone, each when available.
fn modes() -> Vec<bool> {
    let mut out = Vec::new();
    if full_sandbox() {
        out.push(true);
    }
    if landlock_and_seccomp() {
        out.push(false);
    }
    out
}

fn in_mode(mut policy: SandboxPolicy, namespaces: bool) -> SandboxPolicy {
    policy.namespaces = namespaces;
    policy
}

async fn try_sh(lab: &Lab, policy: &SandboxPolicy, script: &str) -> Result<Outcome, SpawnError> {
    let spec = ProcessSpec {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        cwd: lab.ws.clone(),
        stdin: StdinSource::Null,
        inherit_fd: None,
    };
    skillet_sandbox::run(&spec, policy, None).await
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("<{e}>"))
}

fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

// --- Links planted after the policy was made ----------------------------------------------------

#[tokio::test]
async fn a_granted_path_swapped_for_a_link_is_refused() {
    for ns in modes() {
        for (what, link_at) in [
            ("write grant", "out"),
            ("read grant", "data"),
            ("directory above a protected path", "out/.git"),
            ("directory above a masked path", "data/conf"),
            ("a directory above a grant", "deep"),
        ] {
            let lab = Lab::new();
            for dir in ["out/.git/hooks", "data/conf", "deep/er"] {
                std::fs::create_dir_all(lab.ws.join(dir)).unwrap();
            }
            std::fs::write(lab.ws.join("data/conf/.env"), "SECRET=1").unwrap();
            let mut policy = in_mode(lab.policy(), ns);
            policy.fs.write.push(lab.ws.join("out"));
            policy.fs.read.push(lab.ws.join("data"));
            policy.fs.read.push(lab.ws.join("deep/er"));
            policy.fs.read_only.push(lab.ws.join("out/.git/hooks"));
            policy.fs.hidden.push(lab.ws.join("data/conf/.env"));
            // The policy is made; now the path becomes a link to the root of the host.
            let swapped = lab.ws.join(link_at);
            if swapped.is_dir() {
                std::fs::rename(&swapped, lab.tmp.path().join("moved")).unwrap();
            } else {
                std::fs::remove_file(&swapped).unwrap();
            }
            std::os::unix::fs::symlink("/", &swapped).unwrap();
            let marker = lab.outside.join("pwned");
            let result = try_sh(
                &lab,
                &policy,
                &format!("echo x > out/pwned; echo x > {}", marker.display()),
            )
            .await;
            match result {
                Err(SpawnError::UnsafePath { path, .. }) => {
                    assert!(
                        path.starts_with(&swapped),
                        "{what} (namespaces {ns}): refused naming {}",
                        path.display()
                    );
                    let message = SpawnError::UnsafePath {
                        path: path.clone(),
                        reason: String::new(),
                    }
                    .to_string();
                    assert!(message.contains(&path.display().to_string()));
                }
                other => panic!("{what} (namespaces {ns}): ran anyway: {other:?}"),
            }
            assert!(!Path::new("/pwned").exists() && !marker.exists());
        }
    }
}

#[tokio::test]
async fn an_unresolved_path_is_refused() {
    for ns in modes() {
        let lab = Lab::new();
        std::fs::create_dir_all(lab.ws.join("out")).unwrap();
        let mut policy = in_mode(lab.policy(), ns);
        policy.fs.write.push(lab.ws.join("out/../../outside"));
        let result = try_sh(&lab, &policy, "true").await;
        assert!(
            matches!(result, Err(SpawnError::UnsafePath { .. })),
            "namespaces {ns}: {result:?}"
        );
    }
}

// --- Protected paths inside a write grant -------------------------------------------------------

/// A workspace with a git directory, a configuration file and a subdirectory, write-granted,
/// with the names skillet protects.
fn protected_workspace(lab: &Lab, ns: bool) -> SandboxPolicy {
    std::fs::create_dir_all(lab.ws.join(".git/hooks")).unwrap();
    std::fs::write(lab.ws.join(".git/config"), "[core]\n").unwrap();
    std::fs::write(lab.ws.join("skillet.toml"), "# mine\n").unwrap();
    std::fs::write(lab.ws.join("notes.txt"), "v1\n").unwrap();
    std::fs::create_dir_all(lab.ws.join("src")).unwrap();
    std::fs::create_dir_all(lab.ws.join("lib")).unwrap();
    // A protected name that is a link is kept as it is, and never followed.
    std::os::unix::fs::symlink(&lab.outside, lab.ws.join(".claude")).unwrap();
    let mut policy = in_mode(lab.policy(), ns);
    policy.fs.write.push(lab.ws.clone());
    for name in [
        ".git",
        "skillet.toml",
        ".skillet",
        ".agents",
        ".claude",
        "src/.skillet",
    ] {
        policy.fs.read_only.push(lab.ws.join(name));
    }
    policy
}

#[tokio::test]
async fn protected_paths_in_a_write_grant_cannot_be_changed() {
    for ns in modes() {
        let lab = Lab::new();
        let policy = protected_workspace(&lab, ns);
        let out = lab.outside.display();
        let o = try_sh(
            &lab,
            &policy,
            &format!(
                "echo '[alias] x = !evil' >> .git/config
                 echo evil > .git/hooks/pre-commit
                 rm -f .git/config
                 cat /dev/null > skillet.toml
                 echo '[grants]' >> skillet.toml
                 rm -f skillet.toml
                 mv skillet.toml lib/moved.toml
                 cp /dev/null skillet.toml
                 ln .git/config lib/linked && echo evil >> lib/linked
                 ln .git/config {out}/linked && echo evil >> {out}/linked
                 rm -f .claude; ln -sfn / .claude; echo x > .claude/through-link
                 echo v2 > notes.txt
                 echo new > lib/new.txt
                 true"
            ),
        )
        .await
        .unwrap();
        let why = format!("namespaces {ns}: {}", text(&o.stderr));
        assert_eq!(read(&lab.ws.join(".git/config")), "[core]\n", "{why}");
        assert!(!lab.ws.join(".git/hooks/pre-commit").exists(), "{why}");
        assert_eq!(read(&lab.ws.join("skillet.toml")), "# mine\n", "{why}");
        assert!(!lab.ws.join("lib/moved.toml").exists(), "{why}");
        assert!(!lab.ws.join("lib/linked").exists(), "{why}");
        assert!(!lab.outside.join("linked").exists(), "{why}");
        assert!(!lab.outside.join("through-link").exists(), "{why}");
        assert_eq!(
            std::fs::read_link(lab.ws.join(".claude")).unwrap(),
            lab.outside,
            "{why}"
        );
        // The rest of the grant is the skill's: existing files, and anything in subdirectories.
        assert_eq!(read(&lab.ws.join("notes.txt")), "v2\n", "{why}");
        assert_eq!(read(&lab.ws.join("lib/new.txt")), "new\n", "{why}");
    }
}

#[tokio::test]
async fn protected_paths_that_do_not_exist_cannot_be_created() {
    for ns in modes() {
        let lab = Lab::new();
        let policy = protected_workspace(&lab, ns);
        let before = names(&lab.ws);
        let o = try_sh(
            &lab,
            &policy,
            "mkdir .skillet; mkdir -p .agents/skills; echo '{}' > .claude
             ln -s /tmp .skillet; mkfifo .agents
             mkdir src/.skillet; echo x > src/.skillet
             mkdir src/skills && mv src/skills .skillet
             mv src .claude
             perl -e 'rename(\"notes.txt\", \".agents\") or print \"refused\\n\"'
             true",
        )
        .await
        .unwrap();
        let why = format!("namespaces {ns}: {}", text(&o.stderr));
        assert_eq!(names(&lab.ws), before, "{why}");
        assert!(!lab.ws.join("src/.skillet").exists(), "{why}");
        assert_eq!(read(&lab.ws.join("notes.txt")), "v1\n", "{why}");
    }
}

#[tokio::test]
async fn a_protected_directory_cannot_be_moved_away_and_recreated() {
    for ns in modes() {
        for protected in [".git", ".git/hooks"] {
            let lab = Lab::new();
            std::fs::create_dir_all(lab.ws.join(".git/hooks")).unwrap();
            std::fs::write(lab.ws.join(".git/config"), "[core]\n").unwrap();
            let mut policy = in_mode(lab.policy(), ns);
            policy.fs.write.push(lab.ws.clone());
            policy.fs.read_only.push(lab.ws.join(protected));
            let o = try_sh(
                &lab,
                &policy,
                "mv .git .git2; mv .git/hooks .git/hooks2; rm -rf .git
                 mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit
                 true",
            )
            .await
            .unwrap();
            let why = format!("{protected}, namespaces {ns}: {}", text(&o.stderr));
            assert!(!lab.ws.join(".git2").exists(), "{why}");
            assert!(!lab.ws.join(".git/hooks2").exists(), "{why}");
            assert!(lab.ws.join(".git/hooks").is_dir(), "{why}");
            assert!(!lab.ws.join(".git/hooks/pre-commit").exists(), "{why}");
            if protected == ".git" {
                assert_eq!(read(&lab.ws.join(".git/config")), "[core]\n", "{why}");
            }
        }
    }
}

#[tokio::test]
async fn a_protected_path_granted_by_its_exact_path_is_writable() {
    for ns in modes() {
        let lab = Lab::new();
        let mut policy = protected_workspace(&lab, ns);
        policy.fs.write.push(lab.ws.join(".git"));
        let o = try_sh(&lab, &policy, "echo '[user]' >> .git/config")
            .await
            .unwrap();
        assert_eq!(
            read(&lab.ws.join(".git/config")),
            "[core]\n[user]\n",
            "namespaces {ns}: {}",
            text(&o.stderr)
        );
    }
}

// --- Devices and set-user-ID files in write grants ----------------------------------------------

#[tokio::test]
async fn device_nodes_cannot_be_made_in_writable_places() {
    for ns in modes() {
        let lab = Lab::new();
        let mut policy = in_mode(lab.policy(), ns);
        policy.fs.write.push(lab.outside.clone());
        let out = lab.outside.display();
        // `c 0 0` is a whiteout, which Linux lets anyone make where they may write.
        let o = try_sh(
            &lab,
            &policy,
            &format!(
                "for d in {out} \"$HOME\" /tmp; do
                   mknod \"$d/w\" c 0 0 && echo \"made $d/w\"
                   mknod \"$d/mem\" c 1 1 && echo \"made $d/mem\"
                   mknod \"$d/disk\" b 7 0 && echo \"made $d/disk\"
                 done; true"
            ),
        )
        .await
        .unwrap();
        assert!(
            !text(&o.stdout).contains("made"),
            "namespaces {ns}: {}",
            text(&o.stdout)
        );
        assert!(names(&lab.outside).is_empty(), "namespaces {ns}");
    }
}

#[tokio::test]
async fn write_grants_are_mounted_nosuid_and_nodev() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.fs.write.push(lab.outside.clone());
    let o = try_sh(&lab, &policy, "cat /proc/self/mountinfo")
        .await
        .unwrap();
    let mounts = text(&o.stdout);
    let line = mounts
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(lab.outside.to_str().unwrap()))
        .unwrap_or_else(|| panic!("no mount of the grant: {mounts}"));
    let options = line.split(' ').nth(5).unwrap();
    for flag in ["nosuid", "nodev"] {
        assert!(options.split(',').any(|o| o == flag), "{line}");
    }
}

#[tokio::test]
async fn a_set_user_id_program_in_a_write_grant_gains_nothing() {
    let Some(setuid_id) = common::setuid_id() else {
        return;
    };
    let setuid_id = setuid_id.as_path();
    for ns in modes() {
        let lab = Lab::new();
        let mut policy = in_mode(lab.policy(), ns);
        policy
            .fs
            .write
            .push(setuid_id.parent().unwrap().to_path_buf());
        let o = try_sh(&lab, &policy, &format!("{} -u", setuid_id.display()))
            .await
            .unwrap();
        let uid = text(&o.stdout);
        assert!(
            !uid.trim().is_empty() && uid.trim() != "0",
            "namespaces {ns}: {uid} {}",
            text(&o.stderr)
        );
    }
}

// --- Masked paths -------------------------------------------------------------------------------

#[tokio::test]
async fn a_masked_file_cannot_be_read_any_way() {
    for ns in modes() {
        for writable in [false, true] {
            let lab = Lab::new();
            std::fs::create_dir_all(lab.ws.join("app/secrets")).unwrap();
            std::fs::write(lab.ws.join(".env"), "API_KEY=TOP-SECRET-1").unwrap();
            std::fs::write(lab.ws.join("app/.env.local"), "TOP-SECRET-2").unwrap();
            std::fs::write(lab.ws.join("app/secrets/key"), "TOP-SECRET-3").unwrap();
            std::fs::write(lab.ws.join("README"), "readable").unwrap();
            let mut policy = in_mode(lab.policy(), ns);
            if writable {
                policy.fs.write.push(lab.ws.clone());
            }
            for hidden in [".env", "app/.env.local", "app/secrets"] {
                policy.fs.hidden.push(lab.ws.join(hidden));
            }
            let o = try_sh(
                &lab,
                &policy,
                "cat .env app/.env.local app/secrets/key README
                 cp .env app/copy; cat app/copy
                 ln .env app/hard; cat app/hard
                 mv .env app/moved; cat app/moved
                 ln -s ../.env app/soft; cat app/soft
                 perl -e 'open(my $f, \"<\", \"/proc/self/cwd/.env\") and print <$f>'
                 echo 'API_KEY=mine' > .env
                 true",
            )
            .await
            .unwrap();
            let all = text(&o.stdout) + &text(&o.stderr);
            let why = format!("namespaces {ns}, writable {writable}: {all}");
            assert!(!all.contains("TOP-SECRET"), "{why}");
            assert!(text(&o.stdout).contains("readable"), "{why}");
            assert_eq!(read(&lab.ws.join(".env")), "API_KEY=TOP-SECRET-1", "{why}");
        }
    }
}

#[tokio::test]
async fn with_namespaces_a_write_grant_takes_new_names_but_not_protected_ones() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    std::fs::create_dir_all(lab.ws.join(".git")).unwrap();
    std::fs::write(lab.ws.join(".git/config"), "[core]\n").unwrap();
    let mut policy = lab.policy();
    policy.fs.write.push(lab.ws.clone());
    for name in [".git", ".skillet/skills", ".agents", "skillet.toml", ".env"] {
        policy.fs.read_only.push(lab.ws.join(name));
    }
    let o = try_sh(
        &lab,
        &policy,
        "echo new > top.txt; mkdir newdir; mv top.txt moved.txt
         mkdir -p .skillet/skills; rmdir .agents; mv newdir .agents; echo '[grants]' > skillet.toml
         echo A=1 >> .env; echo evil > .git/config
         cat skillet.toml .env; ls -a",
    )
    .await
    .unwrap();
    let why = text(&o.stdout) + &text(&o.stderr);
    // During the run the protected names are there (empty, read-only); after it, gone.
    assert!(text(&o.stdout).contains(".agents"), "{why}");
    assert_eq!(names(&lab.ws), [".git", "moved.txt", "newdir"], "{why}");
    assert_eq!(read(&lab.ws.join("moved.txt")), "new\n");
    assert_eq!(read(&lab.ws.join(".git/config")), "[core]\n", "{why}");
}

#[tokio::test]
async fn a_sealed_directory_takes_no_new_names_even_under_tmp() {
    for ns in modes() {
        // Under /tmp too, where the private /tmp's own rule must not give them back.
        for base in [None, Some(std::env::temp_dir())] {
            let lab = Lab::new();
            let tmp = base.as_ref().map(|b| tempfile::tempdir_in(b).unwrap());
            let ws = match &tmp {
                Some(t) => t.path().canonicalize().unwrap(),
                None => lab.ws.clone(),
            };
            std::fs::create_dir_all(ws.join("sub")).unwrap();
            std::fs::write(ws.join("notes.txt"), "v1\n").unwrap();
            let mut policy = in_mode(lab.policy(), ns);
            policy.fs.read.push(ws.clone());
            policy.fs.write.push(ws.clone());
            policy.fs.sealed.push(ws.clone());
            let o = try_sh(
                &lab,
                &policy,
                &format!(
                    "cd {}; echo A=1 > .env.local; echo A=1 > .env.production; mkdir .envrc.d
                     mv notes.txt sub/; echo v2 > notes.txt; echo new > sub/new",
                    ws.display()
                ),
            )
            .await
            .unwrap();
            let why = format!("namespaces {ns}, {}: {}", ws.display(), text(&o.stderr));
            assert_eq!(names(&ws), ["notes.txt", "sub"], "{why}");
            assert_eq!(read(&ws.join("notes.txt")), "v2\n", "{why}");
            assert_eq!(read(&ws.join("sub/new")), "new\n", "{why}");
        }
    }
}
