//! `skillet.lock` and `skillet verify` on real files: a deterministic round trip, atomic
//! writes, the format version, and every kind of change to an installed package.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use skillet_pkg::PackageName;
use skillet_pkg::lock::{LOCK_FILE, LockError, LockedPackage, Lockfile, hash_tree};
use skillet_pkg::source::Pinned;
use skillet_pkg::verify::{VerifyError, accept, verify};
use skillet_registry::packages::{PACKAGES_DIR, PackageReceipt};

fn name(n: &str) -> PackageName {
    PackageName::new(n).unwrap()
}

fn locked(n: &str, deps: &[&str], files: &[(&str, &str)]) -> LockedPackage {
    LockedPackage {
        name: name(n),
        version: semver::Version::new(1, 2, 3),
        source: Pinned::Git {
            url: format!("https://example.test/{n}.git"),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            reference: Some("v1.2".into()),
            subdir: None,
        },
        requested: true,
        dependencies: deps.iter().map(|d| name(d)).collect(),
        files: files
            .iter()
            .map(|(p, d)| ((*p).to_owned(), (*d).to_owned()))
            .collect(),
        entry: None,
    }
}

fn sample() -> Lockfile {
    let mut lock = Lockfile::default();
    lock.upsert(locked(
        "zeta",
        &["beta", "alpha"],
        &[("b.txt", "bb"), ("a.txt", "aa")],
    ));
    lock.upsert(locked("alpha", &[], &[("skills/x/skill.json", "11")]));
    lock.upsert(LockedPackage {
        source: Pinned::Archive {
            url: "https://example.test/m.tar.gz".into(),
            sha256: "ff".repeat(32),
        },
        ..locked("mid", &[], &[])
    });
    lock
}

#[test]
fn a_lockfile_round_trips_in_a_deterministic_order() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join(LOCK_FILE);
    let lock = sample();
    lock.write(&path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let back = Lockfile::read(&path).unwrap();
    assert_eq!(back, lock);
    // Built in another order, the same set writes the same bytes.
    let mut other = Lockfile::default();
    for p in lock.packages.iter().rev() {
        let mut p = p.clone();
        p.dependencies.reverse();
        other.upsert(p);
    }
    other.write(&path).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    assert!(text.contains("version = 1\n"), "{text}");
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"))
    };
    assert!(at("name = \"alpha\"") < at("name = \"mid\""));
    assert!(at("name = \"mid\"") < at("name = \"zeta\""));
    assert!(at("\"a.txt\"") < at("\"b.txt\""));
    assert!(
        text.contains(r#"dependencies = ["alpha", "beta"]"#),
        "{text}"
    );
}

#[test]
fn get_upsert_and_remove() {
    let mut lock = sample();
    assert_eq!(lock.get(&name("mid")).unwrap().name, name("mid"));
    let mut newer = locked("mid", &[], &[]);
    newer.version = semver::Version::new(2, 0, 0);
    lock.upsert(newer);
    assert_eq!(lock.packages.len(), 3);
    assert_eq!(lock.get(&name("mid")).unwrap().version.major, 2);
    assert!(lock.remove(&name("mid")).is_some());
    assert!(lock.get(&name("mid")).is_none());
    assert!(lock.remove(&name("mid")).is_none());
}

#[test]
fn a_missing_lockfile_is_empty() {
    let t = tempfile::tempdir().unwrap();
    let lock = Lockfile::read(&t.path().join(LOCK_FILE)).unwrap();
    assert!(lock.packages.is_empty());
    assert_eq!(lock.version, 1);
}

#[test]
fn a_newer_format_asks_to_upgrade_and_a_bad_one_says_what_is_wrong() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join(LOCK_FILE);
    fs::write(
        &path,
        "version = 2\n[[package]]\nname = \"x\"\nwhatever = { new = 1 }\n",
    )
    .unwrap();
    let e = Lockfile::read(&path).unwrap_err();
    assert!(matches!(e, LockError::TooNew { found: 2, .. }), "{e:?}");
    assert!(e.to_string().contains("upgrade skillet"), "{e}");
    for (text, says) in [
        ("[[package]]\n", "no `version`"),
        ("version = \"one\"\n", "must be a number"),
        ("version = 0\n", "not a format version"),
        ("version = -3\n", "not a format version"),
        (
            "version = 1\n[[package]]\nname = \"../x\"\n",
            "not a package name",
        ),
        ("version = 1\nthis is not toml", "not a valid lockfile"),
    ] {
        fs::write(&path, text).unwrap();
        let e = Lockfile::read(&path).unwrap_err().to_string();
        assert!(
            e.contains(says) && e.contains(&path.display().to_string()),
            "{text:?}: {e}"
        );
    }
    let mut twice = sample();
    twice.packages.push(twice.packages[0].clone());
    fs::write(&path, toml::to_string(&twice).unwrap()).unwrap();
    assert!(
        Lockfile::read(&path)
            .unwrap_err()
            .to_string()
            .contains("listed twice")
    );
}

#[test]
fn a_write_replaces_the_file_whole_and_leaves_no_temporary_file() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join(LOCK_FILE);
    let small = sample();
    let mut big = sample();
    for i in 0..2000 {
        big.upsert(locked(&format!("p{i}"), &[], &[("f", "d")]));
    }
    small.write(&path).unwrap();
    // A reader never sees half a file while writers replace it over and over.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let got = Lockfile::read(&path).unwrap();
                assert!(got == small || got == big, "a partial lockfile was read");
                reads += 1;
            }
            reads
        });
        for i in 0..40 {
            if i % 2 == 0 { &big } else { &small }.write(&path).unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
    });
    let names: Vec<_> = fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [LOCK_FILE]);
    // A write that fails (the target is a directory) leaves the old state and no debris.
    let dir_target = t.path().join("sub");
    fs::create_dir_all(dir_target.join("keep")).unwrap();
    let e = small.write(&dir_target).unwrap_err();
    assert!(e.to_string().contains("cannot write"), "{e}");
    assert!(dir_target.join("keep").is_dir());
    assert_eq!(fs::read_dir(t.path()).unwrap().count(), 2);
}

/// A scope directory with package `kit` installed by hand, as an install leaves it, locked.
fn installed_scope() -> (tempfile::TempDir, PathBuf, Lockfile) {
    let t = tempfile::tempdir().unwrap();
    let scope = t.path().join(".skillet");
    let dir = scope.join(PACKAGES_DIR).join("kit");
    for (rel, text) in [
        ("skills/hello/skill.json", "{}"),
        ("skills/hello/scripts/run.sh", "echo hello\n"),
        ("README.md", "kit\n"),
    ] {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    std::os::unix::fs::symlink("scripts/run.sh", dir.join("skills/hello/alias.sh")).unwrap();
    PackageReceipt::for_tree("kit", "1.2.3", vec!["skills/hello".into()], &dir)
        .unwrap()
        .write(&dir)
        .unwrap();
    let mut lock = Lockfile::default();
    let mut p = locked("kit", &[], &[]);
    p.files = hash_tree(&dir).unwrap();
    lock.upsert(p);
    lock.write(&scope.join(LOCK_FILE)).unwrap();
    (t, scope, lock)
}

#[test]
fn hash_tree_lists_every_file_but_the_receipt() {
    let (_t, _scope, lock) = installed_scope();
    let files = &lock.get(&name("kit")).unwrap().files;
    let paths: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "README.md",
            "skills/hello/alias.sh",
            "skills/hello/scripts/run.sh",
            "skills/hello/skill.json"
        ]
    );
    assert_eq!(files["README.md"], sha256_hex(b"kit\n"));
    assert!(files["skills/hello/alias.sh"].starts_with("symlink:"));
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn verify_names_each_changed_missing_and_added_file() {
    let (_t, scope, lock) = installed_scope();
    let report = verify(&scope, &lock).unwrap();
    assert!(report.is_clean(), "{report:?}");
    let dir = scope.join(PACKAGES_DIR).join("kit");
    // Same size, same modification time: verify hashes everything, so it still sees it.
    let script = dir.join("skills/hello/scripts/run.sh");
    let mtime = fs::metadata(&script).unwrap().modified().unwrap();
    fs::write(&script, "echo HELLO\n").unwrap();
    fs::File::options()
        .write(true)
        .open(&script)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    fs::remove_file(dir.join("README.md")).unwrap();
    fs::write(dir.join("skills/hello/scripts/planted.sh"), "x").unwrap();
    fs::remove_file(dir.join("skills/hello/alias.sh")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("skills/hello/alias.sh")).unwrap();
    fs::create_dir_all(scope.join(PACKAGES_DIR).join("stray")).unwrap();
    fs::create_dir_all(scope.join(PACKAGES_DIR).join(".staging/x")).unwrap();
    let mut lock2 = lock.clone();
    lock2.upsert(locked("gone", &[], &[("a", "b")]));
    let report = verify(&scope, &lock2).unwrap();
    assert!(!report.is_clean());
    let kit = report
        .packages
        .iter()
        .find(|p| p.name == name("kit"))
        .unwrap();
    assert_eq!(
        kit.changed,
        ["skills/hello/alias.sh", "skills/hello/scripts/run.sh"]
    );
    assert_eq!(kit.missing, ["README.md"]);
    assert_eq!(kit.added, ["skills/hello/scripts/planted.sh"]);
    assert!(kit.installed && kit.receipt_problem.is_none(), "{kit:?}");
    let gone = report
        .packages
        .iter()
        .find(|p| p.name == name("gone"))
        .unwrap();
    assert!(!gone.installed);
    assert_eq!(report.unlisted, ["stray"]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["packages"][1]["added"][0],
        "skills/hello/scripts/planted.sh"
    );
}

#[test]
fn a_fifo_planted_in_a_package_is_reported_without_blocking() {
    let (_t, scope, lock) = installed_scope();
    let fifo = scope.join(PACKAGES_DIR).join("kit/skills/hello/skill.json");
    fs::remove_file(&fifo).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let report = verify(&scope, &lock).unwrap();
    assert_eq!(report.packages[0].changed, ["skills/hello/skill.json"]);
}

#[test]
fn accept_records_the_files_as_they_are_in_the_lockfile_and_the_receipt() {
    let (_t, scope, mut lock) = installed_scope();
    let dir = scope.join(PACKAGES_DIR).join("kit");
    fs::write(
        dir.join("skills/hello/scripts/run.sh"),
        "echo changed on purpose\n",
    )
    .unwrap();
    let before = verify(&scope, &lock).unwrap();
    let accepted = accept(&scope, &mut lock).unwrap();
    assert_eq!(accepted, before);
    assert!(verify(&scope, &lock).unwrap().is_clean());
    let on_disk = Lockfile::read(&scope.join(LOCK_FILE)).unwrap();
    assert_eq!(on_disk, lock);
    assert!(verify(&scope, &on_disk).unwrap().is_clean());
    let receipt = PackageReceipt::read(&dir).unwrap();
    assert_eq!(receipt.skills, ["skills/hello"]);
    let by_receipt: BTreeMap<String, String> = receipt
        .files
        .into_iter()
        .map(|f| (f.path, f.sha256))
        .collect();
    assert_eq!(by_receipt, lock.packages[0].files);
    // A package the lockfile lists but nothing installed cannot be accepted; nothing changes.
    lock.upsert(locked("gone", &[], &[]));
    let text = fs::read_to_string(scope.join(LOCK_FILE)).unwrap();
    let e = accept(&scope, &mut lock).unwrap_err();
    assert!(matches!(e, VerifyError::CannotAccept { .. }), "{e:?}");
    assert!(e.to_string().contains("skillet install --locked"), "{e}");
    assert_eq!(fs::read_to_string(scope.join(LOCK_FILE)).unwrap(), text);
}

#[test]
fn accept_refuses_a_file_swapped_for_a_link_or_a_planted_link() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("target.sh");
    fs::write(&target, "echo safe\n").unwrap();
    for (file, swap) in [
        ("skills/hello/scripts/run.sh", true),
        ("skills/hello/scripts/planted.sh", false),
        // A link the package came with, pointed elsewhere.
        ("skills/hello/alias.sh", true),
    ] {
        let (_t, scope, mut lock) = installed_scope();
        let path = scope.join(PACKAGES_DIR).join("kit").join(file);
        if swap {
            fs::remove_file(&path).unwrap();
        }
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let text = fs::read_to_string(scope.join(LOCK_FILE)).unwrap();
        let report = verify(&scope, &lock).unwrap();
        assert!(!report.is_clean(), "{file}");
        let e = accept(&scope, &mut lock).unwrap_err();
        assert!(
            e.to_string().contains(file) && e.to_string().contains("symbolic link"),
            "{file}: {e}"
        );
        assert_eq!(fs::read_to_string(scope.join(LOCK_FILE)).unwrap(), text);
    }
    // The whole package folder a link: refused too.
    let (_t, scope, mut lock) = installed_scope();
    let dir = scope.join(PACKAGES_DIR).join("kit");
    let moved = outside.path().join("kit");
    fs::rename(&dir, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &dir).unwrap();
    assert!(accept(&scope, &mut lock).is_err());
}

#[test]
fn a_lockfile_that_is_a_link_or_a_fifo_is_refused_without_reading_through_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("id_rsa");
    std::fs::write(&secret, "version = \"PRIVATE KEY MATERIAL\"\n").expect("secret");
    let lock = dir.path().join(LOCK_FILE);
    std::os::unix::fs::symlink(&secret, &lock).expect("link");
    let err = Lockfile::read(&lock).expect_err("a linked lockfile is refused");
    let text = err.to_string();
    assert!(text.contains("symbolic link"), "{text}");
    assert!(!text.contains("PRIVATE"), "the target was read: {text}");

    std::fs::remove_file(&lock).expect("unlink");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &lock,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .expect("fifo");
    let err = Lockfile::read(&lock).expect_err("a FIFO is refused, not waited on");
    assert!(err.to_string().contains("not a regular file"), "{err}");
}
