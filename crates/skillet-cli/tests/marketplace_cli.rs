//! `skillet marketplace add|list|update|remove` and `skillet search`, end to end: a Claude Code
//! marketplace in a folder, a bare git repository over file://, and indexes served by an HTTP
//! server on 127.0.0.1.

#![allow(clippy::unwrap_used)] // tests: a failure is a broken test machine or a real bug

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use common::World;

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

/// A Claude Code marketplace: a plugin in a relative folder, one on GitHub listing its skills,
/// one at a git URL, and one skillet cannot fetch (npm). Its descriptions are someone else's
/// text: one tries to colour the terminal and flip the line.
fn team_marketplace(w: &World) {
    w.write(
        "team/.claude-plugin/marketplace.json",
        r#"{
          "name": "team-skills",
          "plugins": [
            {"name": "pdf-tools", "description": "Read and fill PDF forms", "source": "./plugins/pdf-tools"},
            {"name": "document-skills", "description": "Word, Excel and PDF documents \u001b[31mred\u202e",
             "source": {"source": "github", "repo": "example/document-skills"}, "version": "1.2.0",
             "skills": ["./skills/docx", "./skills/xlsx"]},
            {"name": "review-kit", "description": "Review pull requests",
             "source": {"source": "url", "url": "https://example.test/review-kit.git"}, "version": "2.1.0"},
            {"name": "from-npm", "source": {"source": "npm", "package": "x"}}
          ]
        }"#,
    );
    w.write(
        "team/plugins/pdf-tools/.claude-plugin/plugin.json",
        r#"{"name": "pdf-tools", "version": "0.3.0"}"#,
    );
    w.write(
        "team/plugins/pdf-tools/skills/fill/SKILL.md",
        "---\nname: fill\ndescription: Fill a form\n---\nFill it.\n",
    );
}

#[test]
fn without_marketplaces_search_and_list_say_how_to_add_one() {
    let w = World::new();
    let (code, out, err) = w.run(&["search", "pdf"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("no marketplace is added") && err.contains("skillet marketplace add SOURCE"),
        "{err}"
    );
    let (code, out, _) = w.run(&["marketplace", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("No marketplace is added; `skillet marketplace add SOURCE`"),
        "{out}"
    );
    let (code, out, _) = w.run(&["marketplace", "list", "--json"]);
    assert_eq!((code, out.trim()), (0, "[]"));
}

#[test]
fn a_claude_marketplace_in_a_folder_is_added_searched_and_removed() {
    let w = World::new();
    team_marketplace(&w);
    let (code, out, err) = w.run(&["marketplace", "add", "./team"]);
    assert_eq!(code, 0, "{out}{err}");
    let team = w.ws.join("team").canonicalize().unwrap();
    assert_eq!(
        out.lines().next().unwrap(),
        format!(
            "Added marketplace `team-skills` (folder {}, read in place): 3 packages.",
            team.display()
        )
    );
    assert!(
        err.contains("skillet: warning: entry from-npm:"),
        "a bad entry is a warning: {err}"
    );
    let list = w.home.join(".config/skillet/marketplaces.toml");
    assert!(
        std::fs::read_to_string(&list)
            .unwrap()
            .contains("[marketplace.team-skills]")
    );

    let (code, out, err) = w.run(&["marketplace", "add", "./team", "--name", "again"]);
    assert_eq!(code, 125, "{out}");
    assert!(err.contains("is already added as `team-skills`"), "{err}");
    std::fs::create_dir_all(w.ws.join("copy")).unwrap();
    w.write(
        "copy/skillet-index.json",
        r#"{"skillet_index": 1, "name": "team-skills", "packages": []}"#,
    );
    let (code, _, err) = w.run(&["marketplace", "add", "./copy"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("a marketplace named `team-skills` is already added")
            && err.contains("choose another name with --name NAME"),
        "{err}"
    );

    let (code, out, err) = w.run(&["search", "PDF"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "a header and one line a package: {out}");
    assert!(lines[0].starts_with("NAME") && lines[0].contains("DESCRIPTION"));
    assert!(lines[1].starts_with("pdf-tools ") && lines[1].contains(" 0.3.0 "));
    assert!(lines[1].contains(" team-skills ") && lines[1].ends_with("Read and fill PDF forms"));
    // Someone else's escape sequence and bidi control are shown, not obeyed.
    assert!(lines[2].starts_with("document-skills "), "{out}");
    assert!(
        lines[2].ends_with(r"PDF documents \x1b[31mred\u{202e}"),
        "{}",
        lines[2]
    );
    assert!(!out.contains('\u{1b}') && !out.contains('\u{202e}'));

    let (code, out, _) = w.run(&["search", "pdf", "forms", "--json"]);
    assert_eq!(code, 0);
    let hits: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        hits,
        serde_json::json!([{"name": "pdf-tools", "version": "0.3.0", "marketplace": "team-skills",
                             "description": "Read and fill PDF forms"}])
    );

    let (code, out, err) = w.run(&["search", "spreadsheet"]);
    assert_eq!((code, out.as_str()), (1, ""), "no results: exit 1, as grep");
    assert_eq!(
        err.trim(),
        "No package matches `spreadsheet` in 1 marketplace."
    );

    let (code, out, _) = w.run(&["marketplace", "list"]);
    assert_eq!(code, 0);
    let row = out.lines().nth(1).unwrap();
    assert!(
        row.starts_with("team-skills ") && row.contains("read in place"),
        "{out}"
    );
    assert!(row.trim_end().ends_with(" 3"), "{out}");

    let (code, out, _) = w.run(&["marketplace", "remove", "team-skills"]);
    assert_eq!(code, 0);
    assert!(out.contains("Removed marketplace `team-skills`"), "{out}");
    assert!(
        out.contains("Packages installed from it stay installed"),
        "{out}"
    );
    assert!(w.ws.join("team/.claude-plugin/marketplace.json").exists());
    let (code, _, err) = w.run(&["marketplace", "remove", "team-skills"]);
    assert_eq!(code, 127);
    assert!(err.contains("no marketplace named `team-skills`"), "{err}");
}

#[test]
fn a_git_marketplace_is_pinned_and_update_shows_new_packages() {
    let w = World::new();
    let work = w.tmp.path().join("work");
    std::fs::create_dir_all(work.join("packages/review-kit")).unwrap();
    git(&work, &["init", "-q"]);
    let index = |packages: &str| {
        format!(r#"{{"skillet_index": 1, "name": "upstream", "packages": [{packages}]}}"#)
    };
    let entry = |name: &str, version: &str| {
        std::fs::create_dir_all(work.join("packages").join(name)).unwrap();
        std::fs::write(
            work.join("packages")
                .join(name)
                .join("skillet-package.toml"),
            format!("name = \"{name}\"\nversion = \"{version}\"\n"),
        )
        .unwrap();
        format!(
            r#"{{"name": "{name}", "version": "{version}", "description": "{name} things",
                "source": {{"type": "dir", "path": "packages/{name}"}}}}"#
        )
    };
    std::fs::write(
        work.join("skillet-index.json"),
        index(&entry("review-kit", "1.0.0")),
    )
    .unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "first"]);
    git(
        w.tmp.path(),
        &["clone", "-q", "--bare", "work", "upstream.git"],
    );
    let bare = w.tmp.path().join("upstream.git");
    let first = git(&bare, &["rev-parse", "HEAD"]);
    let url = format!("file://{}#main", bare.display());

    let (code, out, err) = w.run(&["marketplace", "add", &url, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let added: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(added["name"], "upstream");
    assert_eq!(added["commit"], first.as_str());
    assert_eq!(added["packages"], 1);

    let (code, out, _) = w.run(&["marketplace", "update", "upstream"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("upstream: no change (1 package, commit {})", &first[..12])
    );

    let both = format!(
        "{},{}",
        entry("review-kit", "1.1.0"),
        entry("lint-core", "3.0.0")
    );
    std::fs::write(work.join("skillet-index.json"), index(&both)).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "second"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "HEAD:main"]);
    let second = git(&bare, &["rev-parse", "HEAD"]);

    let (code, out, err) = w.run(&["marketplace", "update"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "upstream: 2 packages, commit {} -> {}\n  + lint-core 3.0.0 (new)\n  ~ review-kit: new 1.1.0; gone 1.0.0\n",
            &first[..12],
            &second[..12]
        )
    );
    let (_, out, _) = w.run(&["marketplace", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["commit"], second.as_str());
    assert_eq!(list[0]["source"]["reference"], "main");
    assert_eq!(list[0]["packages"], 2);

    let (code, out, _) = w.run(&["search", "lint"]);
    assert_eq!(code, 0);
    assert!(
        out.lines().nth(1).unwrap().starts_with("lint-core "),
        "{out}"
    );

    // A repository that is gone: update says so and exits non-zero.
    std::fs::remove_dir_all(&bare).unwrap();
    let (code, _, err) = w.run(&["marketplace", "update", "upstream"]);
    assert_eq!(code, 125);
    assert!(err.contains("cannot fetch"), "{err}");
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
fn an_index_url_is_downloaded_and_a_404_or_a_web_page_is_explained() {
    let w = World::new();
    let index = r#"{"skillet_index": 1, "name": "web-skills", "packages": [
        {"name": "pdf-tools", "version": "1.0.0", "description": "PDF forms",
         "source": {"type": "git", "url": "https://example.test/pdf-tools.git"}}]}"#;
    let base = serve(vec![
        ("/index.json", 200, "application/json", index.into()),
        (
            "/login.json",
            200,
            "text/html",
            "<!doctype html><title>Sign in</title>".into(),
        ),
    ]);
    let (code, out, err) = w.run(&["marketplace", "add", &format!("{base}/index.json")]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().next().unwrap(),
        format!("Added marketplace `web-skills` (index {base}/index.json): 1 package.")
    );
    let copy = w
        .home
        .join(".local/share/skillet/marketplaces/web-skills/index.json");
    assert_eq!(std::fs::read_to_string(copy).unwrap(), index);

    let (code, out, err) = w.run(&["marketplace", "add", &format!("{base}/gone.json")]);
    assert_eq!((code, out.as_str()), (125, ""));
    assert_eq!(
        err.trim(),
        format!(
            "skillet: error: cannot download {base}/gone.json: the server answered 404 Not Found: check the address (it should name the index JSON file itself)"
        )
    );
    let (code, out, _) = w.run(&[
        "marketplace",
        "add",
        &format!("{base}/login.json"),
        "--json",
    ]);
    assert_eq!(code, 125);
    let e: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        e["error"]["message"],
        format!(
            "{base}/login.json is not a marketplace index: it is a web page (HTML), not an index JSON: give the address of the raw JSON file"
        )
    );
    let (_, out, _) = w.run(&["marketplace", "list"]);
    assert_eq!(out.lines().count(), 2, "only the good one was added: {out}");
}

#[test]
fn a_broken_marketplace_list_is_an_error_naming_the_file() {
    let w = World::new();
    let list = w.write(
        "~/.config/skillet/marketplaces.toml",
        "[marketplace.team]\ndir = 3\n",
    );
    for args in [
        &["marketplace", "list"][..],
        &["search", "x"],
        &["marketplace", "update"],
    ] {
        let (code, _, err) = w.run(args);
        assert_eq!(code, 125, "{args:?}");
        assert!(
            err.starts_with(&format!("skillet: error: {} is broken: ", list.display())),
            "{err}"
        );
        assert!(err.contains("fix it by hand"), "{err}");
    }
}

/// Installs the folder package `name` (one prompt skill `skill`) with `skillet install`.
fn install(w: &World, name: &str, skill: &str, deps: &str) {
    w.write(
        &format!("src/{name}/skillet-package.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"1.0.0\"\nskills = [\"skills/{skill}\"]\n[dependencies]\n{deps}"
        ),
    );
    w.write(
        &format!("src/{name}/skills/{skill}/SKILL.md"),
        &format!("---\nname: {skill}\ndescription: The {skill} skill\n---\nDo {skill}.\n"),
    );
    let (code, out, err) = w.run(&["install", &format!("./src/{name}"), "--yes"]);
    assert_eq!(code, 0, "install {name}: {out}{err}");
}

#[test]
fn disabling_a_package_disables_its_skills_unless_an_enabled_package_needs_it() {
    let w = World::new();
    install(&w, "lint-core", "lint", "");
    install(&w, "review-kit", "review", "lint-core = \"^1\"\n");
    // A skill whose name is not a package's is toggled as before.
    w.skill(
        "fmt",
        serde_json::json!({"name": "fmt", "type": "prompt_inline", "prompt_template": "x"}),
    );

    let (code, out, err) = w.run(&["disable", "lint-core"]);
    assert_eq!((code, out.as_str()), (125, ""));
    assert_eq!(
        err,
        "skillet: error: cannot disable the package `lint-core`: the enabled package `review-kit` (workspace) depends on it\n  hint: disable `review-kit` first (`skillet disable review-kit`), or disable `lint-core` anyway with --force\n"
    );

    let (code, out, err) = w.run(&["disable", "review-kit"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("package review-kit: disabled, with its 1 skill ("),
        "{out}"
    );
    let (code, out, err) = w.run(&["disable", "lint-core"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("package lint-core: disabled"), "{out}");
    let global = std::fs::read_to_string(w.home.join(".config/skillet/skillet.toml")).unwrap();
    assert!(global.contains("\"package:review-kit\"") && global.contains("\"package:lint-core\""));

    let (_, out, _) = w.run(&["list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let state = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["availability"].as_str().unwrap().to_owned())
    };
    assert_eq!(state("lint").as_deref(), Some("disabled"));
    assert_eq!(state("review").as_deref(), Some("disabled"));
    assert_eq!(
        state("fmt").as_deref(),
        Some("untrusted"),
        "other skills untouched"
    );

    let (code, _, err) = w.run(&["run", "lint"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("`lint` belongs to the package `lint-core`, which is disabled")
            && err.contains("skillet enable lint-core"),
        "{err}"
    );

    // Enabling the dependent first: it works, with a word about what it needs.
    let (code, out, err) = w.run(&["enable", "review-kit"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("package review-kit: enabled"), "{out}");
    assert!(
        err.contains("`review-kit` needs the package `lint-core`, which is disabled: `skillet enable lint-core`"),
        "{err}"
    );
    let (code, _, _) = w.run(&["enable", "lint-core"]);
    assert_eq!(code, 0);
    let (code, _, err) = w.run(&["run", "lint"]);
    assert!(!err.contains("disabled"), "{code}: {err}");

    // --force disables what another package needs, and says what that leaves.
    let (code, out, err) = w.run(&["disable", "lint-core", "--force", "--json"]);
    assert_eq!(code, 0, "{err}");
    let said: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(said["state"], "disabled");
    assert_eq!(said["skills"], serde_json::json!(["lint"]));
    assert_eq!(said["needed_by"], serde_json::json!(["review-kit"]));
    assert!(err.contains("stays enabled"), "{err}");

    let (code, _, err) = w.run(&["disable", "fmt", "--force"]);
    assert_eq!(code, 125);
    assert!(err.contains("--force is for packages"), "{err}");
    let (code, out, _) = w.run(&["disable", "fmt"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("fmt: disabled"), "{out}");
}
