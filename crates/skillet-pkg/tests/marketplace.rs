//! Marketplaces with real parts: a Claude Code marketplace in a folder, a bare git repository
//! over file://, and indexes served by an HTTP server on 127.0.0.1.

#![allow(clippy::unwrap_used)] // tests: a failure is a broken test machine or a real bug

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use skillet_pkg::PackageName;
use skillet_pkg::marketplace::{ChangeStatus, MarketplaceSource, Marketplaces, search};
use skillet_pkg::resolve::Catalog;
use skillet_pkg::source::{NoProgress, Source};

struct World {
    tmp: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        World {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn marketplaces(&self) -> Marketplaces {
        Marketplaces::at(
            self.path("config/skillet/marketplaces.toml"),
            self.path("data/skillet/marketplaces"),
        )
        .unwrap()
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.test"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A Claude Code marketplace of the shapes the public ones use: a plugin in a relative folder,
/// one on GitHub, one at a git URL, one listing its skills, and one skillet cannot fetch.
fn claude_marketplace(w: &World) -> PathBuf {
    w.write(
        "team-skills/.claude-plugin/marketplace.json",
        r#"{
          "name": "team-skills",
          "owner": {"name": "Team"},
          "plugins": [
            {"name": "pdf-tools", "description": "Read and fill PDF forms", "source": "./plugins/pdf-tools"},
            {"name": "document-skills", "description": "Word and Excel documents",
             "source": {"source": "github", "repo": "example/document-skills"}, "version": "1.2.0",
             "skills": ["./skills/docx", "./skills/xlsx"]},
            {"name": "review-kit", "description": "Review pull requests",
             "source": {"source": "url", "url": "https://example.test/review-kit.git"}, "version": "2.1.0"},
            {"name": "from-npm", "source": {"source": "npm", "package": "x"}}
          ]
        }"#,
    );
    w.write(
        "team-skills/plugins/pdf-tools/.claude-plugin/plugin.json",
        r#"{"name": "pdf-tools", "version": "0.3.0", "description": "Read and fill PDF forms"}"#,
    );
    w.write(
        "team-skills/plugins/pdf-tools/skills/fill/SKILL.md",
        "---\nname: fill\ndescription: Fill a form\n---\nFill it.\n",
    );
    w.path("team-skills")
}

#[test]
fn a_claude_marketplace_in_a_folder_is_read_in_place() {
    let w = World::new();
    let dir = claude_marketplace(&w);
    let mut m = w.marketplaces();
    let added = m
        .add("team-skills", w.tmp.path(), None, &NoProgress)
        .unwrap();
    assert_eq!(
        added.marketplace.name, "team-skills",
        "the index's own name"
    );
    assert_eq!(
        added.marketplace.source,
        MarketplaceSource::Dir {
            path: dir.canonicalize().unwrap()
        }
    );
    assert_eq!(added.index.packages.len(), 3);
    assert_eq!(added.index.warnings.len(), 1, "{:?}", added.index.warnings);
    assert!(added.index.warnings[0].to_string().contains("from-npm"));
    // Nothing copied: a folder is read where it is.
    assert!(!w.path("data/skillet/marketplaces/team-skills").exists());

    // Read in place: a plugin added to the folder is seen without an update.
    let text = std::fs::read_to_string(dir.join(".claude-plugin/marketplace.json")).unwrap();
    let text = text.replace(
        r#"{"name": "from-npm""#,
        r#"{"name": "lint-core", "description": "Shared lint rules", "source": "./plugins/pdf-tools", "version": "3.0.0"},
            {"name": "from-npm""#,
    );
    std::fs::write(dir.join(".claude-plugin/marketplace.json"), text).unwrap();

    let m = w.marketplaces();
    let (catalog, errors) = m.catalog();
    assert!(errors.is_empty(), "{errors:?}");
    let pdf = catalog
        .find(&PackageName::new("pdf-tools").unwrap(), None, None)
        .unwrap();
    assert_eq!(pdf.version.to_string(), "0.3.0", "from its plugin.json");
    assert_eq!(
        pdf.source,
        Source::Dir {
            path: dir.canonicalize().unwrap().join("plugins/pdf-tools")
        }
    );
    let docs = catalog
        .find(
            &PackageName::new("document-skills").unwrap(),
            Some("team-skills"),
            None,
        )
        .unwrap();
    assert!(
        matches!(&docs.source, Source::Git { url, .. } if url.contains("example/document-skills")),
        "{:?}",
        docs.source
    );
    assert_eq!(docs.skills.len(), 2);
    assert_eq!(
        catalog.versions(&PackageName::new("lint-core").unwrap())[0]
            .version
            .to_string(),
        "3.0.0"
    );

    let hits = search(&catalog, &["PDF".into()]);
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].name.as_str(), hits[0].marketplace.as_str()),
        ("pdf-tools", "team-skills")
    );
    let e = catalog
        .find(&PackageName::new("pdf-tool").unwrap(), None, None)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no marketplace offers `pdf-tool`; did you mean `pdf-tools`?"
    );
}

#[test]
fn a_taken_name_is_refused_and_remove_forgets_only_the_marketplace() {
    let w = World::new();
    claude_marketplace(&w);
    std::fs::create_dir_all(w.path("other")).unwrap();
    std::fs::copy(
        w.path("team-skills/.claude-plugin/marketplace.json"),
        w.write("other/.claude-plugin/marketplace.json", ""),
    )
    .unwrap();
    let mut m = w.marketplaces();
    m.add("team-skills", w.tmp.path(), None, &NoProgress)
        .unwrap();
    let e = m.add("other", w.tmp.path(), None, &NoProgress).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "a marketplace named `team-skills` is already added (from {}): choose another name with --name NAME",
            w.path("team-skills").canonicalize().unwrap().display()
        )
    );
    let e = m
        .add("team-skills", w.tmp.path(), Some("again"), &NoProgress)
        .unwrap_err();
    assert!(
        e.to_string().contains("is already added as `team-skills`"),
        "{e}"
    );
    let e = m
        .add("other", w.tmp.path(), Some("Other Name"), &NoProgress)
        .unwrap_err();
    assert!(e.to_string().contains("is not a marketplace name"), "{e}");

    m.add("other", w.tmp.path(), Some("other"), &NoProgress)
        .unwrap();
    let names: Vec<_> = w
        .marketplaces()
        .list()
        .iter()
        .map(|m| m.name.clone())
        .collect();
    assert_eq!(names, ["other", "team-skills"]);

    let (catalog, _) = m.catalog();
    let e = catalog
        .find(&PackageName::new("review-kit").unwrap(), None, None)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`review-kit` is offered by `other` and `team-skills`: write `review-kit@other` or `review-kit@team-skills`"
    );

    let removed = m.remove("team-skills").unwrap();
    assert_eq!(removed.name, "team-skills");
    assert!(
        w.path("team-skills/.claude-plugin/marketplace.json")
            .exists(),
        "a folder is left as it is"
    );
    let names: Vec<_> = w
        .marketplaces()
        .list()
        .iter()
        .map(|m| m.name.clone())
        .collect();
    assert_eq!(names, ["other"]);
    let e = m.remove("team-skills").unwrap_err();
    assert_eq!(
        e.to_string(),
        "no marketplace named `team-skills` (added: other): `skillet marketplace list` shows them"
    );
}

fn skillet_index(packages: &[(&str, &str)]) -> String {
    let entries: Vec<String> = packages
        .iter()
        .map(|(name, version)| {
            format!(
                r#"{{"name": "{name}", "version": "{version}", "description": "the {name} package",
                   "source": {{"type": "dir", "path": "packages/{name}"}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"skillet_index": 1, "name": "upstream", "packages": [{}]}}"#,
        entries.join(",")
    )
}

#[test]
fn a_git_marketplace_is_fetched_at_one_commit_and_update_shows_what_changed() {
    let w = World::new();
    let work = w.path("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q"]);
    w.write(
        "work/skillet-index.json",
        &skillet_index(&[("review-kit", "1.0.0")]),
    );
    w.write(
        "work/packages/review-kit/skillet-package.toml",
        "name = \"review-kit\"\nversion = \"1.0.0\"\n",
    );
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "first"]);
    let bare = w.path("upstream.git");
    git(
        w.tmp.path(),
        &["clone", "-q", "--bare", "work", "upstream.git"],
    );
    let first = git(&bare, &["rev-parse", "HEAD"]);
    let url = format!("file://{}", bare.display());

    let mut m = w.marketplaces();
    let added = m.add(&url, w.tmp.path(), None, &NoProgress).unwrap();
    assert_eq!(added.marketplace.name, "upstream");
    assert_eq!(added.marketplace.commit.as_deref(), Some(first.as_str()));
    assert!(added.marketplace.fetched_ms.is_some());
    let copy = w.path("data/skillet/marketplaces/upstream");
    assert!(copy.join("skillet-index.json").is_file());
    assert!(!copy.join(".git").exists(), "a copy, not a clone");
    let (catalog, _) = m.catalog();
    let kit = catalog
        .find(&PackageName::new("review-kit").unwrap(), None, None)
        .unwrap();
    assert_eq!(
        kit.source,
        Source::Git {
            url: url.clone(),
            reference: Some(first.clone()),
            subdir: Some("packages/review-kit".into())
        },
        "a relative source is the repository at the recorded commit"
    );

    // Nothing new upstream: no change.
    let updated = m.update(Some("upstream"), &NoProgress).unwrap();
    let u = updated[0].as_ref().unwrap();
    assert!(u.changes.is_empty() && u.marketplace.commit.as_deref() == Some(&first[..]));

    w.write(
        "work/skillet-index.json",
        &skillet_index(&[("review-kit", "1.1.0"), ("lint-core", "3.0.0")]),
    );
    w.write(
        "work/packages/lint-core/skillet-package.toml",
        "name = \"lint-core\"\nversion = \"3.0.0\"\n",
    );
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "second"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "HEAD:main"]);
    let second = git(&bare, &["rev-parse", "HEAD"]);

    let updated = w.marketplaces().update(None, &NoProgress).unwrap();
    let u = updated[0].as_ref().unwrap();
    assert_eq!(u.previous_commit.as_deref(), Some(first.as_str()));
    assert_eq!(u.marketplace.commit.as_deref(), Some(second.as_str()));
    let said: Vec<String> = u
        .changes
        .iter()
        .map(|c| format!("{} {:?} +{:?} -{:?}", c.name, c.status, c.added, c.removed))
        .collect();
    assert_eq!(
        said,
        [
            "lint-core New +[Version { major: 3, minor: 0, patch: 0 }] -[]".to_owned(),
            "review-kit Changed +[Version { major: 1, minor: 1, patch: 0 }] -[Version { major: 1, minor: 0, patch: 0 }]".to_owned(),
        ]
    );
    assert_eq!(u.changes[0].status, ChangeStatus::New);
    assert_eq!(
        w.marketplaces().list()[0].commit.as_deref(),
        Some(second.as_str())
    );

    // The update replaced the copy; removing the marketplace deletes it.
    w.marketplaces().remove("upstream").unwrap();
    assert!(!copy.exists());
}

/// A real HTTP/1.1 server on 127.0.0.1 answering each path with a fixed status and body.
fn serve(routes: Vec<(&'static str, u16, &'static str, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (status, kind, body) = routes
                .iter()
                .find(|r| r.0 == path)
                .map(|r| (r.1, r.2, r.3.clone()))
                .unwrap_or((404, "text/plain", "not found".into()));
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn an_index_over_http_is_downloaded_and_bad_answers_are_explained() {
    let w = World::new();
    let index = r#"{"skillet_index": 1, "packages": [
        {"name": "pdf-tools", "version": "1.0.0", "description": "PDF forms",
         "source": {"type": "archive", "url": "pdf-tools-1.0.0.tar.gz", "sha256": "00000000000000000000000000000000000000000000000000000000000000aa"}}]}"#;
    let base = serve(vec![
        ("/skills/index.json", 200, "application/json", index.into()),
        (
            "/page.json",
            200,
            "text/html",
            "<!DOCTYPE html><html><body>Sign in</body></html>".into(),
        ),
        ("/empty.json", 200, "application/json", String::new()),
    ]);
    let mut m = w.marketplaces();
    let added = m
        .add(
            &format!("{base}/skills/index.json"),
            w.tmp.path(),
            None,
            &NoProgress,
        )
        .unwrap();
    assert_eq!(
        added.marketplace.name, "127-0-0-1",
        "no name in the index: the host's"
    );
    assert_eq!(added.index.packages.len(), 1);
    assert!(
        w.path("data/skillet/marketplaces/127-0-0-1/index.json")
            .is_file(),
        "the download is kept"
    );
    let (catalog, errors) = m.catalog();
    assert!(errors.is_empty(), "{errors:?}");
    let pdf = catalog
        .find(
            &PackageName::new("pdf-tools").unwrap(),
            Some("127-0-0-1"),
            None,
        )
        .unwrap();
    assert_eq!(
        pdf.source,
        Source::Archive {
            url: format!("{base}/skills/pdf-tools-1.0.0.tar.gz"),
            sha256: "00000000000000000000000000000000000000000000000000000000000000aa".into()
        },
        "a relative archive URL is the index's neighbour"
    );

    let e = m
        .add(
            &format!("{base}/missing.json"),
            w.tmp.path(),
            Some("x"),
            &NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "cannot download {base}/missing.json: the server answered 404 Not Found: check the address (it should name the index JSON file itself)"
        )
    );
    let e = m
        .add(
            &format!("{base}/page.json"),
            w.tmp.path(),
            Some("x"),
            &NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{base}/page.json is not a marketplace index: it is a web page (HTML), not an index JSON: give the address of the raw JSON file"
        )
    );
    let e = m
        .add(
            &format!("{base}/empty.json"),
            w.tmp.path(),
            Some("x"),
            &NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("an empty body"), "{e}");
    // Nothing of the failures was recorded.
    assert_eq!(w.marketplaces().list().len(), 1);
    assert!(!w.path("data/skillet/marketplaces/x").exists());
    let staging = w.path("data/skillet/marketplaces/.staging");
    assert!(
        !staging.exists() || std::fs::read_dir(&staging).unwrap().next().is_none(),
        "no staging left behind"
    );

    let e = m
        .add(
            "http://example.test/index.json",
            w.tmp.path(),
            None,
            &NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("use https"), "{e}");
}

#[test]
fn a_broken_list_file_is_named_in_the_error() {
    let w = World::new();
    let list = w.write(
        "config/skillet/marketplaces.toml",
        "[marketplace.team]\nfolder = \"/x\"\n",
    );
    let e = Marketplaces::at(list.clone(), w.path("data"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{} is broken: ", list.display())),
        "{e}"
    );
    assert!(e.contains("unknown field `folder`"), "{e}");
    assert!(
        e.ends_with("fix it by hand, or move it away to start a new list"),
        "{e}"
    );
}
