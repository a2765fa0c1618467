//! Archives over a real HTTP server on 127.0.0.1 and over file://: the digest is checked before
//! anything is unpacked, and every entry that could land outside the package is refused by name.

mod sources_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use skillet_pkg::source::{
    FetchOptions, NoProgress, Pinned, Progress, Source, SourceError, fetch, fetch_pinned,
    fetch_with,
};
use sources_support::{Entry, Route, serve, sha256_hex, tar_gz, tree};

fn good_archive() -> Vec<u8> {
    tar_gz(&[
        Entry::Dir("kit-1.0/"),
        Entry::File("kit-1.0/skillet-package.toml", b"name = \"kit\"\n"),
        Entry::Dir("kit-1.0/skills/lint/"),
        Entry::File("kit-1.0/skills/lint/SKILL.md", b"lint\n"),
        Entry::Exec("kit-1.0/skills/lint/run.sh", b"#!/bin/sh\n"),
        Entry::Symlink("kit-1.0/README.md", "skillet-package.toml"),
        Entry::HardLink(
            "kit-1.0/skills/lint/COPY.md",
            "kit-1.0/skills/lint/SKILL.md",
        ),
    ])
}

fn archive(url: &str, bytes: &[u8]) -> Source {
    Source::Archive {
        url: url.into(),
        sha256: sha256_hex(bytes),
    }
}

/// A staging folder inside a parent whose other contents are checked untouched afterwards.
struct Place {
    _dir: tempfile::TempDir,
    parent: std::path::PathBuf,
    staging: std::path::PathBuf,
}

fn place() -> Place {
    let dir = tempfile::tempdir().expect("tempdir");
    let parent = dir.path().join("scope");
    let staging = parent.join("staging");
    std::fs::create_dir_all(&staging).expect("mkdir");
    Place {
        _dir: dir,
        parent,
        staging,
    }
}

impl Place {
    /// Nothing was written next to staging (where an escaping entry would land).
    fn assert_nothing_outside(&self) {
        assert_eq!(
            tree(&self.parent),
            vec!["staging/".to_string()],
            "written outside staging"
        );
        assert!(!Path::new("/tmp/skillet-escaped").exists());
    }
}

#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl Progress for Recorder {
    fn start(&self, what: &str, total: Option<u64>) {
        self.0
            .lock()
            .expect("lock")
            .push(format!("start {what} {total:?}"));
    }
    fn advance(&self, n: u64) {
        self.0.lock().expect("lock").push(format!("advance {n}"));
    }
    fn finish(&self) {
        self.0.lock().expect("lock").push("finish".into());
    }
}

#[test]
fn a_good_archive_over_http_is_unpacked_with_its_top_folder_stripped_and_links_made_files() {
    let bytes = good_archive();
    let server = serve(BTreeMap::from([(
        "/kit.tar.gz".into(),
        Route::Body(bytes.clone()),
    )]));
    let url = format!("{}/kit.tar.gz", server.base);
    let place = place();
    let progress = Recorder::default();
    let fetched = fetch(&archive(&url, &bytes), &place.staging, &progress).expect("fetch");
    assert_eq!(fetched.root, place.staging.join("package"));
    assert_eq!(
        tree(&fetched.root),
        vec![
            "README.md",
            "skillet-package.toml",
            "skills/",
            "skills/lint/",
            "skills/lint/COPY.md",
            "skills/lint/SKILL.md",
            "skills/lint/run.sh",
        ]
    );
    // Links become plain copies: nothing in a package is a link.
    assert_eq!(
        std::fs::read(fetched.root.join("README.md")).expect("read"),
        b"name = \"kit\"\n"
    );
    assert_eq!(
        std::fs::read(fetched.root.join("skills/lint/COPY.md")).expect("read"),
        b"lint\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(fetched.root.join("skills/lint/run.sh"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the executable bit is kept");
    assert_eq!(
        fetched.pinned,
        Pinned::Archive {
            url: url.clone(),
            sha256: sha256_hex(&bytes)
        }
    );
    // Scratch files are gone: only the package is left in staging.
    assert_eq!(
        tree(&place.staging).first().map(String::as_str),
        Some("package/")
    );
    assert!(
        tree(&place.staging)
            .iter()
            .all(|p| p.starts_with("package/"))
    );
    let events = progress.0.lock().expect("lock").clone();
    assert!(
        events
            .iter()
            .any(|e| e == &format!("start downloading {url} Some({})", bytes.len())),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e.starts_with("start unpacking")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e == &format!("advance {}", bytes.len())),
        "{events:?}"
    );

    // The same bytes again from the lockfile's record.
    let again = place.staging.join("again");
    let pinned = fetch_pinned(&fetched.pinned, &again, &NoProgress).expect("fetch pinned");
    assert_eq!(tree(&pinned.root), tree(&fetched.root));
}

#[test]
fn a_tampered_archive_is_refused_naming_both_digests_and_nothing_is_unpacked() {
    let bytes = good_archive();
    let mut tampered = bytes.clone();
    let last = tampered.len() - 9;
    tampered[last] ^= 0xff;
    let server = serve(BTreeMap::from([(
        "/kit.tar.gz".into(),
        Route::Body(tampered.clone()),
    )]));
    let url = format!("{}/kit.tar.gz", server.base);
    let place = place();
    let err = fetch(&archive(&url, &bytes), &place.staging, &NoProgress).expect_err("tampered");
    let text = err.to_string();
    assert!(matches!(err, SourceError::DigestMismatch { .. }), "{err:?}");
    assert!(text.contains(&sha256_hex(&bytes)), "{text}");
    assert!(text.contains(&sha256_hex(&tampered)), "{text}");
    assert!(text.contains(&url), "{text}");
    assert!(text.contains("nothing was unpacked"), "{text}");
    assert_eq!(tree(&place.staging), Vec::<String>::new());
    place.assert_nothing_outside();
}

#[test]
fn a_stalled_download_fails_after_the_stall_limit_naming_the_url() {
    let server = serve(BTreeMap::from([(
        "/slow.tar.gz".into(),
        Route::Stall {
            len: 100_000,
            sent: vec![0x1f, 0x8b, 8, 0],
        },
    )]));
    let url = format!("{}/slow.tar.gz", server.base);
    let place = place();
    let mut options = FetchOptions::default();
    options.stall_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err = fetch_with(&archive(&url, b"x"), &place.staging, &NoProgress, &options)
        .expect_err("stalled");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        err.to_string(),
        format!("the download of {url} stalled: no data for 1 s; try again later")
    );
}

#[test]
fn a_missing_archive_names_the_status_and_the_url() {
    let server = serve(BTreeMap::new());
    let url = format!("{}/gone.tar.gz", server.base);
    let place = place();
    let err = fetch(&archive(&url, b"x"), &place.staging, &NoProgress).expect_err("404");
    assert_eq!(
        err.to_string(),
        format!(
            "{url} answered HTTP 404 Not Found: check the URL; nothing is there (was it moved or removed?)"
        )
    );
}

#[test]
fn an_archive_past_the_size_cap_is_refused_saying_the_cap() {
    let bytes = good_archive();
    let server = serve(BTreeMap::from([(
        "/kit.tar.gz".into(),
        Route::Body(bytes.clone()),
    )]));
    let url = format!("{}/kit.tar.gz", server.base);
    let place = place();
    let mut options = FetchOptions::default();
    options.max_download_bytes = 100;
    let err = fetch_with(
        &archive(&url, &bytes),
        &place.staging,
        &NoProgress,
        &options,
    )
    .expect_err("too large");
    assert!(err.to_string().contains("more than 100 bytes"), "{err}");
}

#[test]
fn plain_http_to_another_machine_is_refused() {
    let place = place();
    let err = fetch(
        &archive("http://example.test/kit.tar.gz", b"x"),
        &place.staging,
        &NoProgress,
    )
    .expect_err("http");
    assert!(err.to_string().contains("plain http is refused"), "{err}");
}

/// Serves `entries` over file:// and returns the error, after checking nothing escaped.
fn refused(entries: &[Entry<'_>]) -> String {
    let bytes = tar_gz(entries);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("evil.tar.gz");
    std::fs::write(&file, &bytes).expect("write");
    let url = format!("file://{}", file.display());
    let place = place();
    let err = fetch(&archive(&url, &bytes), &place.staging, &NoProgress).expect_err("refused");
    assert!(matches!(err, SourceError::UnsafeEntry { .. }), "{err:?}");
    // Scratch is removed on failure too; nothing landed beside staging.
    assert_eq!(tree(&place.staging), Vec::<String>::new());
    place.assert_nothing_outside();
    let text = err.to_string();
    assert!(text.contains(&url), "{text}");
    text
}

#[test]
fn an_entry_climbing_out_with_dotdot_is_refused_by_name() {
    for name in [
        "../escaped.txt",
        "kit/../../escaped.txt",
        "kit/sub/../../../../tmp/skillet-escaped",
    ] {
        let text = refused(&[Entry::Dir("kit/"), Entry::File(name, b"owned\n")]);
        assert!(text.contains(&format!("unsafe entry {name:?}")), "{text}");
        assert!(text.contains("'..'"), "{text}");
    }
}

#[test]
fn an_absolute_entry_is_refused_by_name() {
    let text = refused(&[Entry::File("/tmp/skillet-escaped", b"owned\n")]);
    assert!(
        text.contains("unsafe entry \"/tmp/skillet-escaped\": an absolute path"),
        "{text}"
    );
}

#[test]
fn an_escaping_symlink_is_refused_by_name() {
    for target in ["../../outside", "/etc/passwd", "sub/../../.."] {
        let text = refused(&[Entry::Dir("kit/"), Entry::Symlink("kit/link", target)]);
        assert!(text.contains("unsafe entry \"kit/link\""), "{text}");
        assert!(
            text.contains(&format!("a symbolic link to {target:?}")),
            "{text}"
        );
    }
}

#[test]
fn writing_through_a_symlink_planted_earlier_is_refused() {
    // A link that stays inside, then a file "under" it: the write must not follow the link.
    let text = refused(&[
        Entry::Dir("kit/"),
        Entry::Dir("kit/real/"),
        Entry::Symlink("kit/alias", "real"),
        Entry::File("kit/alias/file.txt", b"x"),
    ]);
    assert!(
        text.contains("unsafe entry \"kit/alias/file.txt\""),
        "{text}"
    );
    assert!(text.contains("passes through a symbolic link"), "{text}");
}

#[test]
fn a_hard_link_out_of_the_archive_is_refused_by_name() {
    for target in ["/etc/passwd", "../outside", "kit/not-in-the-archive"] {
        let text = refused(&[Entry::Dir("kit/"), Entry::HardLink("kit/passwd", target)]);
        assert!(text.contains("unsafe entry \"kit/passwd\""), "{text}");
        assert!(
            text.contains(&format!("a hard link to {target:?}")),
            "{text}"
        );
    }
}

#[test]
fn device_files_and_fifos_are_refused_by_name() {
    let text = refused(&[Entry::CharDevice("kit/null")]);
    assert!(
        text.contains("unsafe entry \"kit/null\": a device file"),
        "{text}"
    );
    let text = refused(&[Entry::Fifo("kit/pipe")]);
    assert!(text.contains("unsafe entry \"kit/pipe\": a FIFO"), "{text}");
}

#[test]
fn a_symlink_inside_the_archive_to_a_folder_is_refused_when_copied() {
    let bytes = tar_gz(&[
        Entry::Dir("kit/"),
        Entry::Dir("kit/real/"),
        Entry::Symlink("kit/alias", "real"),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kit.tar.gz");
    std::fs::write(&file, &bytes).expect("write");
    let place = place();
    let err = fetch(
        &archive(&format!("file://{}", file.display()), &bytes),
        &place.staging,
        &NoProgress,
    )
    .expect_err("folder link");
    assert!(err.to_string().starts_with("alias in file://"), "{err}");
    assert!(err.to_string().contains("which names a folder"), "{err}");
}

#[test]
fn a_bad_digest_is_refused_before_any_download() {
    let place = place();
    let err = fetch(
        &Source::Archive {
            url: "https://example.test/kit.tar.gz".into(),
            sha256: "abc".into(),
        },
        &place.staging,
        &NoProgress,
    )
    .expect_err("bad digest");
    assert!(err.to_string().contains("is not a sha256 digest"), "{err}");
}

fn file_archive(bytes: &[u8]) -> (tempfile::TempDir, Source) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kit.tar.gz");
    std::fs::write(&file, bytes).expect("write");
    let source = archive(&format!("file://{}", file.display()), bytes);
    (dir, source)
}

#[test]
fn an_archive_expanding_past_the_cap_is_refused_even_in_headers() {
    let mut options = FetchOptions::default();
    options.max_tree_bytes = 1000;
    options.max_entries = 10;
    // Files: counted by their declared sizes.
    let big = vec![b'a'; 5000];
    let (_dir, source) = file_archive(&tar_gz(&[Entry::File("kit/big", &big)]));
    let place1 = place();
    let err = fetch_with(&source, &place1.staging, &NoProgress, &options).expect_err("big file");
    assert!(
        err.to_string()
            .contains("is too large: more than 1000 bytes unpacked"),
        "{err}"
    );
    // A pax header the tar reader would keep in memory: a few KiB of gzip, megabytes expanded.
    let zeros = vec![0u8; 4 * 1024 * 1024];
    let bomb = tar_gz(&[
        Entry::Raw("pax", tar::EntryType::XHeader, &zeros),
        Entry::File("kit/a", b"a"),
    ]);
    assert!(bomb.len() < 64 * 1024, "the bomb is small: {}", bomb.len());
    let (_dir, source) = file_archive(&bomb);
    let place2 = place();
    let err = fetch_with(&source, &place2.staging, &NoProgress, &options).expect_err("bomb");
    assert!(
        err.to_string()
            .contains("is too large: more than 1000 bytes unpacked"),
        "{err}"
    );
    // Entries: counted one by one.
    let many: Vec<String> = (0..20).map(|i| format!("kit/f{i}")).collect();
    let entries: Vec<Entry<'_>> = many.iter().map(|n| Entry::File(n, b"x")).collect();
    let (_dir, source) = file_archive(&tar_gz(&entries));
    let place3 = place();
    let err = fetch_with(&source, &place3.staging, &NoProgress, &options).expect_err("many");
    assert!(
        err.to_string()
            .contains("is too large: more than 10 entries"),
        "{err}"
    );
}

#[test]
fn a_file_url_naming_a_fifo_is_refused_without_waiting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("kit.tar.gz");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let place = place();
    let err = fetch(
        &archive(&format!("file://{}", fifo.display()), b"x"),
        &place.staging,
        &NoProgress,
    )
    .expect_err("fifo");
    assert!(err.to_string().contains("is not a regular file"), "{err}");
}
