//! Folder sources: copied (never linked) under the tree policy every source shares.

mod sources_support;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use skillet_pkg::source::{FetchOptions, NoProgress, Pinned, Source, fetch, fetch_with};
use sources_support::tree;

fn dir_source(path: &Path) -> Source {
    Source::Dir { path: path.into() }
}

fn package(base: &Path) -> std::path::PathBuf {
    let pkg = base.join("pkg");
    std::fs::create_dir_all(pkg.join("skills/lint")).expect("mkdir");
    std::fs::create_dir_all(pkg.join(".git/objects")).expect("mkdir");
    std::fs::write(pkg.join(".git/config"), "[core]\n").expect("write");
    std::fs::write(pkg.join("skillet-package.toml"), "name = \"kit\"\n").expect("write");
    // A receipt shipped in a package would vouch for an install that never finished.
    std::fs::write(pkg.join(".skillet-receipt.json"), "{}").expect("write");
    std::fs::write(pkg.join(".skillet-receipt.json.tmp"), "{}").expect("write");
    std::fs::write(pkg.join("skills/lint/.skillet-receipt.json"), "{}").expect("write");
    std::fs::write(pkg.join("skills/lint/SKILL.md"), "lint\n").expect("write");
    std::fs::write(pkg.join("skills/lint/run.sh"), "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(
        pkg.join("skills/lint/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    pkg
}

#[test]
fn a_folder_is_copied_without_git_and_a_link_inside_becomes_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = package(dir.path());
    symlink(
        "../../skillet-package.toml",
        pkg.join("skills/lint/manifest.toml"),
    )
    .expect("symlink");
    let staging = dir.path().join("staging");
    let fetched = fetch(&dir_source(&pkg), &staging, &NoProgress).expect("fetch");
    assert_eq!(
        tree(&fetched.root),
        vec![
            "skillet-package.toml",
            "skills/",
            "skills/lint/",
            "skills/lint/.skillet-receipt.json",
            "skills/lint/SKILL.md",
            "skills/lint/manifest.toml",
            "skills/lint/run.sh",
        ]
    );
    assert_eq!(
        std::fs::read_to_string(fetched.root.join("skills/lint/manifest.toml")).expect("read"),
        "name = \"kit\"\n"
    );
    let mode = std::fs::metadata(fetched.root.join("skills/lint/run.sh"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111);
    assert_eq!(fetched.pinned, Pinned::Dir { path: pkg.clone() });
    // A copy, not a link: editing the source later leaves the installed file alone.
    std::fs::write(pkg.join("skills/lint/SKILL.md"), "changed\n").expect("write");
    assert_eq!(
        std::fs::read_to_string(fetched.root.join("skills/lint/SKILL.md")).expect("read"),
        "lint\n"
    );
}

fn refused(setup: impl FnOnce(&Path)) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = package(dir.path());
    setup(&pkg);
    let staging = dir.path().join("staging");
    let err = fetch(&dir_source(&pkg), &staging, &NoProgress).expect_err("refused");
    err.to_string()
}

#[test]
fn symlinks_leaving_the_folder_or_naming_folders_are_refused_by_name() {
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "secret\n").expect("write");
    for (target, reason) in [
        (
            secret.to_str().expect("utf-8").to_owned(),
            "an absolute path",
        ),
        ("../../../secret".to_owned(), "which leaves the package"),
        ("../../..".to_owned(), "which leaves the package"),
        ("..".to_owned(), "which names a folder"),
        ("../lint".to_owned(), "which names a folder"),
        ("nowhere".to_owned(), "where nothing is"),
        ("../../.git/config".to_owned(), "which names .git"),
    ] {
        let text = refused(|pkg| symlink(&target, pkg.join("skills/lint/link")).expect("symlink"));
        assert!(
            text.starts_with("skills/lint/link in ")
                && text.contains(&format!("is a symbolic link to {target:?}, {reason}")),
            "{target}: {text}"
        );
    }
    // A link to a link, even one inside, is refused rather than followed twice.
    let text = refused(|pkg| {
        symlink("SKILL.md", pkg.join("skills/lint/a")).expect("symlink");
        symlink("a", pkg.join("skills/lint/b")).expect("symlink");
    });
    assert!(text.contains("which names another symbolic link"), "{text}");
    // A folder reached through a link on the way.
    let text = refused(|pkg| {
        symlink("skills", pkg.join("alias")).expect("symlink");
        symlink("alias/lint/SKILL.md", pkg.join("via")).expect("symlink");
    });
    assert!(
        text.contains("alias in ") || text.contains("through another symbolic link"),
        "{text}"
    );
}

#[test]
fn a_hard_link_is_refused_since_it_may_be_a_file_outside() {
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "secret\n").expect("write");
    let text =
        refused(|pkg| std::fs::hard_link(&secret, pkg.join("skills/lint/notes.md")).expect("link"));
    assert!(
        text.starts_with("skills/lint/notes.md in ") && text.contains("has 2 hard links"),
        "{text}"
    );
    assert!(text.contains("copy it (cp)"), "{text}");
}

#[test]
fn a_fifo_is_refused_and_the_copy_does_not_hang() {
    let text = refused(|pkg| {
        let status = std::process::Command::new("mkfifo")
            .arg(pkg.join("skills/lint/pipe"))
            .status()
            .expect("mkfifo");
        assert!(status.success());
    });
    assert!(
        text.starts_with("skills/lint/pipe in ") && text.contains("is a FIFO"),
        "{text}"
    );
}

#[test]
fn a_folder_past_the_caps_is_refused_saying_the_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = package(dir.path());
    let mut options = FetchOptions::default();
    options.max_entries = 3;
    let err = fetch_with(
        &dir_source(&pkg),
        &dir.path().join("s1"),
        &NoProgress,
        &options,
    )
    .expect_err("entries");
    assert!(
        err.to_string()
            .contains("is too large: more than 3 files and folders"),
        "{err}"
    );
    let mut options = FetchOptions::default();
    options.max_tree_bytes = 10;
    let err = fetch_with(
        &dir_source(&pkg),
        &dir.path().join("s2"),
        &NoProgress,
        &options,
    )
    .expect_err("bytes");
    assert!(
        err.to_string().contains("is too large: more than 10 bytes"),
        "{err}"
    );
}

#[test]
fn a_file_is_not_a_folder_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("file");
    std::fs::write(&file, "x").expect("write");
    let err = fetch(&dir_source(&file), &dir.path().join("s"), &NoProgress).expect_err("file");
    assert!(err.to_string().contains("is not a folder"), "{err}");
}

/// A race, so it catches a regression (opening without O_NOFOLLOW) often rather than always;
/// it never passes by leaking the secret.
#[test]
fn a_file_swapped_for_a_link_out_while_copying_is_never_followed() {
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "SECRET\n").expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    // One file, so each copy is short and many copies race the swap.
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    let target = pkg.join("notes.md");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Swaps notes.md between a regular file and a link to the secret, atomically by rename.
    let swapper = {
        let (stop, pkg, target, secret) =
            (stop.clone(), pkg.clone(), target.clone(), secret.clone());
        std::thread::spawn(move || {
            let scratch = pkg.parent().expect("parent").to_path_buf();
            let (file, link) = (scratch.join("file.tmp"), scratch.join("link.tmp"));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::write(&file, "notes\n");
                let _ = std::fs::rename(&file, &target);
                let _ = symlink(&secret, &link);
                let _ = std::fs::rename(&link, &target);
            }
        })
    };
    let mut refused = 0;
    // Bounded in time too, for a loaded machine.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    for i in 0..2000 {
        if std::time::Instant::now() > until {
            break;
        }
        let staging = dir.path().join(format!("s{i}"));
        match fetch(&dir_source(&pkg), &staging, &NoProgress) {
            Ok(fetched) => {
                let copied =
                    std::fs::read_to_string(fetched.root.join("notes.md")).unwrap_or_default();
                assert_ne!(
                    copied, "SECRET\n",
                    "the secret was copied through a swapped link"
                );
            }
            Err(_) => refused += 1,
        }
        let _ = std::fs::remove_dir_all(&staging);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().expect("swapper");
    // The link was seen (and refused) at least once, so the race was really run.
    assert!(refused > 0, "the swap never raced the copy");
}
