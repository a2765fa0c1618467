//! Git sources against real repositories made here: a bare repository over file://, and the same
//! served by `git daemon` on 127.0.0.1.

mod sources_support;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use skillet_pkg::source::{
    FetchOptions, NoProgress, Pinned, Source, SourceError, fetch, fetch_pinned, fetch_with,
};
use sources_support::{git, make_repo, tree};

fn git_source(url: &str, reference: Option<&str>) -> Source {
    Source::Git {
        url: url.into(),
        reference: reference.map(str::to_owned),
        subdir: None,
    }
}

fn skill_text(root: &Path) -> String {
    std::fs::read_to_string(root.join("SKILL.md")).expect("SKILL.md")
}

/// Fetches by default branch, branch, annotated tag, full and short commit; checks the commit
/// recorded and that no `.git` is left.
fn fetch_every_way(url: &str, commits: &[String], base: &Path) {
    let cases: [(Option<&str>, &str, &str); 5] = [
        (None, "version three\n", &commits[2]),
        (Some("feature"), "version two\n", &commits[1]),
        (Some("v1"), "version one\n", &commits[0]),
        (Some(commits[1].as_str()), "version two\n", &commits[1]),
        (Some(&commits[0][..10]), "version one\n", &commits[0]),
    ];
    for (i, (reference, text, commit)) in cases.iter().enumerate() {
        let staging = base.join(format!("staging-{i}"));
        let fetched = fetch(&git_source(url, *reference), &staging, &NoProgress)
            .unwrap_or_else(|e| panic!("fetch {reference:?}: {e}"));
        assert_eq!(skill_text(&fetched.root), *text, "at {reference:?}");
        assert_eq!(
            fetched.pinned,
            Pinned::Git {
                url: url.into(),
                commit: commit.to_string(),
                reference: reference.map(str::to_owned),
                subdir: None
            },
            "at {reference:?}"
        );
        assert_eq!(
            tree(&fetched.root),
            vec!["SKILL.md", "pkg/", "pkg/sub/", "pkg/sub/SKILL.md"],
            "no .git is left, at {reference:?}"
        );
        assert_eq!(
            tree(&staging),
            vec![
                "package/",
                "package/SKILL.md",
                "package/pkg/",
                "package/pkg/sub/",
                "package/pkg/sub/SKILL.md"
            ]
        );
    }
}

#[test]
fn a_bare_repository_over_file_is_fetched_by_branch_tag_and_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = make_repo(dir.path());
    let url = format!("file://{}", repo.bare.display());
    fetch_every_way(&url, &repo.commits, dir.path());
}

#[test]
fn a_locked_commit_is_fetched_again_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = make_repo(dir.path());
    let url = format!("file://{}", repo.bare.display());
    let pinned = Pinned::Git {
        url: url.clone(),
        commit: repo.commits[0].clone(),
        reference: None,
        subdir: None,
    };
    let fetched = fetch_pinned(&pinned, &dir.path().join("s1"), &NoProgress).expect("locked");
    assert_eq!(skill_text(&fetched.root), "version one\n");
    assert_eq!(fetched.pinned, pinned);

    let gone = Pinned::Git {
        url: url.clone(),
        commit: "1".repeat(40),
        reference: None,
        subdir: None,
    };
    let err = fetch_pinned(&gone, &dir.path().join("s2"), &NoProgress).expect_err("missing commit");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("git checkout failed for {url}:")),
        "{text}"
    );
    assert!(text.contains("`git ls-remote"), "{text}");
}

#[test]
fn a_subdir_is_the_package_and_may_not_leave_the_checkout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = make_repo(dir.path());
    let url = format!("file://{}", repo.bare.display());
    let source = |subdir: &str| Source::Git {
        url: url.clone(),
        reference: None,
        subdir: Some(subdir.into()),
    };
    let fetched = fetch(&source("pkg/sub"), &dir.path().join("ok"), &NoProgress).expect("subdir");
    assert_eq!(skill_text(&fetched.root), "sub one\n");
    assert_eq!(tree(&fetched.root), vec!["SKILL.md"]);

    for (subdir, reason) in [
        ("../..", "is outside the repository"),
        ("pkg/../../", "is outside the repository"),
        ("/etc", "is an absolute path"),
        ("nowhere", "does not exist"),
        ("SKILL.md", "is not a folder"),
    ] {
        let staging = dir.path().join("bad");
        let err = fetch(&source(subdir), &staging, &NoProgress).expect_err(subdir);
        assert_eq!(
            err.to_string(),
            format!("the folder {subdir:?} {reason} in {url}: name a folder inside the repository")
        );
        // The checkout is removed on failure.
        assert!(!staging.join(".git-checkout").exists());
        let _ = std::fs::remove_dir_all(&staging);
    }
}

#[test]
fn a_repository_with_a_symlink_out_is_refused_by_name_and_its_submodules_are_not_fetched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("evil");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q"]);
    std::fs::write(work.join("SKILL.md"), "x\n").expect("write");
    std::os::unix::fs::symlink("/etc/passwd", work.join("passwd")).expect("symlink");
    std::os::unix::fs::symlink("/etc", work.join("to-etc")).expect("symlink");
    std::os::unix::fs::symlink("..", work.join("to-up")).expect("symlink");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "evil"]);
    let url = format!("file://{}", work.display());
    let err =
        fetch(&git_source(&url, None), &dir.path().join("s"), &NoProgress).expect_err("link out");
    assert_eq!(
        err.to_string(),
        format!(
            "passwd in {url} is a symbolic link to \"/etc/passwd\", an absolute path: a package's symbolic links may only name a regular file inside the package; replace it with the file itself"
        )
    );

    // A subdir reached through a link is resolved first, and must stay inside the checkout.
    for subdir in ["to-etc", "to-up"] {
        let source = Source::Git {
            url: url.clone(),
            reference: None,
            subdir: Some(subdir.into()),
        };
        let err = fetch(&source, &dir.path().join("s-sub"), &NoProgress).expect_err(subdir);
        assert_eq!(
            err.to_string(),
            format!(
                "the folder {subdir:?} is outside the repository in {url}: name a folder inside the repository"
            )
        );
    }

    // A submodule: its folder stays empty (no recursive fetch of another URL).
    let sub = dir.path().join("sub");
    std::fs::create_dir_all(&sub).expect("mkdir");
    git(&sub, &["init", "-q"]);
    std::fs::write(sub.join("SECRET.md"), "from the submodule\n").expect("write");
    git(&sub, &["add", "-A"]);
    git(&sub, &["commit", "-q", "-m", "sub"]);
    let host = dir.path().join("host");
    std::fs::create_dir_all(&host).expect("mkdir");
    git(&host, &["init", "-q"]);
    std::fs::write(host.join("SKILL.md"), "host\n").expect("write");
    git(&host, &["add", "SKILL.md"]);
    git(
        &host,
        &[
            "submodule",
            "-q",
            "add",
            sub.to_str().expect("utf-8"),
            "vendor",
        ],
    );
    git(&host, &["commit", "-q", "-m", "with submodule"]);
    let url = format!("file://{}", host.display());
    let fetched =
        fetch(&git_source(&url, None), &dir.path().join("s2"), &NoProgress).expect("host");
    assert_eq!(
        tree(&fetched.root),
        vec![".gitmodules", "SKILL.md", "vendor/"]
    );
}

#[test]
fn refs_and_urls_that_git_would_read_as_options_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = fetch(
        &git_source("--upload-pack=touch /tmp/x", None),
        dir.path(),
        &NoProgress,
    )
    .expect_err("option url");
    assert!(err.to_string().contains("starts with '-'"), "{err}");
    let err = fetch(
        &git_source("file:///nowhere.git", Some("--upload-pack=x")),
        dir.path(),
        &NoProgress,
    )
    .expect_err("option ref");
    assert!(
        err.to_string()
            .starts_with("git reference \"--upload-pack=x\" is refused"),
        "{err}"
    );
    let err = fetch(
        &git_source("ext::sh -c touch% /tmp/pwned", None),
        dir.path(),
        &NoProgress,
    )
    .expect_err("ext");
    assert!(err.to_string().contains("transport helper"), "{err}");
    assert!(!Path::new("/tmp/pwned").exists());
}

#[test]
fn a_missing_git_program_says_to_install_git() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = FetchOptions::default();
    options.git_program = dir.path().join("no-such-git");
    let err = fetch_with(
        &git_source("file:///x.git", None),
        &dir.path().join("s"),
        &NoProgress,
        &options,
    )
    .expect_err("no git");
    assert!(matches!(err, SourceError::GitMissing), "{err:?}");
    assert!(err.to_string().contains("install git"), "{err}");
}

#[test]
fn a_server_that_never_answers_is_stopped_at_the_time_limit() {
    // A git:// server that accepts and then says nothing.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = FetchOptions::default();
    options.git_timeout = Duration::from_secs(2);
    let url = format!("git://127.0.0.1:{port}/repo.git");
    let started = Instant::now();
    let err = fetch_with(
        &git_source(&url, None),
        &dir.path().join("s"),
        &NoProgress,
        &options,
    )
    .expect_err("timeout");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        err.to_string(),
        format!(
            "fetching {url} with git took longer than 2 s and was stopped: check your network and the URL, and try again"
        )
    );
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        // `git daemon` runs git-daemon as its child: stop the whole group.
        let _ = rustix::process::kill_process_group(
            rustix::process::Pid::from_child(&self.0),
            rustix::process::Signal::KILL,
        );
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_repository_served_by_git_daemon_is_fetched_by_branch_tag_and_commit() {
    // `git daemon --help` needs the manual pages; the program itself is what matters.
    let works = Command::new("git")
        .arg("--exec-path")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .is_some_and(|dir| Path::new(&dir).join("git-daemon").is_file());
    if !works {
        println!("SKIPPED: `git daemon` is not installed (Debian package git-daemon-sysvinit)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = make_repo(dir.path());
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let daemon = Daemon(
        Command::new("git")
            .arg("daemon")
            .arg("--export-all")
            .arg("--reuseaddr")
            .arg(format!("--base-path={}", dir.path().display()))
            .arg("--listen=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("git daemon"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "git daemon did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("git://127.0.0.1:{port}/repo.git");
    fetch_every_way(&url, &repo.commits, &dir.path().join("fetches"));
    drop(daemon);
}

#[test]
fn a_host_or_user_starting_with_a_dash_is_refused_before_git_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("ran");
    let cmd = format!("-oProxyCommand=touch {}", marker.display());
    for url in [
        format!("ssh://{cmd}/repo.git"),
        format!("git+ssh://{cmd}/repo.git"),
        format!("ssh://{cmd}@example.test/repo.git"),
        format!("ssh://user@{cmd}:22/repo.git"),
        "ssh://%2doProxyCommand=x/repo.git".to_owned(),
        format!("ssh://[{cmd}]/repo.git"),
        // scp-like (no '/' before the ':', or git reads a local path).
        "-oProxyCommand=x@example.test:repo.git".to_owned(),
        "user@-oProxyCommand=x:repo.git".to_owned(),
        "git+user@-oProxyCommand=x:repo.git".to_owned(),
        "git://-oProxyCommand=x/repo.git".to_owned(),
        "https://-x.example.test/repo.git".to_owned(),
    ] {
        let err = fetch(&git_source(&url, None), &dir.path().join("s"), &NoProgress)
            .expect_err("dash host");
        assert!(
            err.to_string().contains("would read as an option"),
            "{url}: {err}"
        );
        assert!(!marker.exists(), "{url}");
    }
}
