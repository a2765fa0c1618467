//! `skillet docs`, `skillet init` and `skillet hooks install` end to end, with the real binary
//! and real git: what a skill author types, and what they see.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use common::World;
use serde_json::{Value, json};

fn greet(w: &World) {
    w.skill(
        "greet",
        json!({
            "name": "greet",
            "description": "Say hello",
            "type": "code_inline",
            "command": "echo",
            "args": ["Hello, {who}!"],
            "parameters": [
                {"name": "who", "type": "string", "required": true, "description": "Who to greet"},
                {"name": "tone", "type": "enum", "values": ["warm", "dry"], "default": "warm"}
            ],
            "security": {"resource_limits": {"max_memory_mb": 64}},
            "tests": [{"name": "greets Ada", "params": {"who": "Ada Lovelace"},
                       "expect": {"stdout_equals": "Hello, Ada Lovelace!\n"}}]
        }),
    );
}

/// The text of every fenced block of `lang` in `md`.
fn fenced<'a>(md: &'a str, lang: &str) -> Vec<&'a str> {
    md.split(&format!("```{lang}\n"))
        .skip(1)
        .map(|rest| rest.split("\n```").next().unwrap())
        .collect()
}

#[test]
fn docs_lists_every_scope_and_broken_skills_and_its_examples_run_as_written() {
    let w = World::new();
    greet(&w);
    w.write(
        "~/.config/skillet/skills/tidy.json",
        r#"{"name": "tidy", "type": "prompt_inline", "description": "Tidy up", "prompt_template": "Tidy {x}",
            "parameters": [{"name": "x", "type": "string", "default": "it"}]}"#,
    );
    w.write(
        ".skillet/skills/oops.json",
        r#"{"name": "oops", "type": "code_inlin"}"#,
    );
    let (code, md, err) = w.run(&["docs"]);
    assert_eq!(code, 0, "{md}{err}");
    for expected in [
        "3 skill files, 1 broken",
        "| [greet](#greet) | code_inline | workspace | Say hello |",
        "| [tidy](#tidy) | prompt_inline | global | Tidy up |",
        "## oops",
        "**Broken**",
        "code\\_inlin",
        "| `who` | string | yes | - | Who to greet |",
        "| `tone` | enum | no | `warm` | One of: `warm`, `dry`. |",
        "- memory: `64 MB`",
        "**greets Ada**",
    ] {
        assert!(md.contains(expected), "missing {expected:?}:\n{md}");
    }
    // The example is the command a reader would type; it prints the output shown under it.
    let commands = fenced(&md, "sh");
    assert_eq!(
        commands,
        ["skillet run greet --param 'who=Ada Lovelace'"],
        "{md}"
    );
    let outputs = fenced(&md, "text");
    let bin = assert_cmd::cargo::cargo_bin("skillet");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ran = w
        .command(Path::new("sh"))
        .args(["-c", commands[0]])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(ran.status.success(), "{ran:?}");
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        format!("{}\n", outputs[0])
    );
}

#[test]
fn docs_are_the_same_bytes_every_time_and_author_markup_is_inert() {
    let w = World::new();
    greet(&w);
    w.skill(
        "evil",
        json!({"name": "evil", "type": "prompt_inline",
               "description": "<script>alert(document.cookie)</script> | `x` ## y",
               "prompt_template": "hi {who}",
               "parameters": [{"name": "who", "type": "string", "default": "\"><img src=x onerror=alert(1)>",
                               "description": "<iframe src=javascript:alert(1)>"}],
               "tests": [{"name": "<svg onload=alert(1)>", "params": {"who": "</pre><script>x()</script>"},
                          "expect": {"stdout_contains": "<b>hi</b>"}}]}),
    );
    let (code, md, err) = w.run(&["docs"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = w.run(&["docs", "--out", "out/skills.md"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("wrote 2 skills to out/skills.md"), "{err}");
    assert_eq!(fs::read_to_string(w.path("out/skills.md")).unwrap(), md);

    let (code, _, err) = w.run(&["docs", "--html", "site"]);
    assert_eq!(code, 0, "{err}");
    let first = fs::read(w.path("site/index.html")).unwrap();
    // Touched files, a new modification time: nothing of the clock or the order reaches the page.
    greet(&w);
    let (code, _, err) = w.run(&["docs", "--html", "site"]);
    assert_eq!(code, 0, "{err}");
    let second = fs::read(w.path("site/index.html")).unwrap();
    assert_eq!(first, second);
    let html = String::from_utf8(second).unwrap().to_lowercase();
    for tag in ["<script", "<img", "<iframe", "<svg", "<b>", "</pre><"] {
        assert!(!html.contains(tag), "{tag} came out live:\n{html}");
    }
    assert!(
        html.contains("&lt;script&gt;alert(document.cookie)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("content-security-policy"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained: {html}"
    );
}

#[test]
fn docs_out_replaces_a_planted_link_instead_of_writing_through_it() {
    let w = World::new();
    greet(&w);
    let victim = w.path("~/precious.txt");
    fs::write(&victim, "precious\n").unwrap();
    fs::create_dir_all(w.path("site")).unwrap();
    symlink(&victim, w.path("site/index.html")).unwrap();
    symlink(&victim, w.path("SKILLS.md")).unwrap();
    assert_eq!(w.run(&["docs", "--out", "SKILLS.md"]).0, 0);
    assert_eq!(w.run(&["docs", "--html", "site"]).0, 0);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(
        fs::read_to_string(w.path("SKILLS.md"))
            .unwrap()
            .contains("## greet")
    );
}

#[test]
fn init_writes_the_schema_and_merges_the_editor_mapping_keeping_the_users_settings() {
    let w = World::new();
    let settings = "{\n  // my editor\n  \"editor.fontSize\": 14,\n  \"json.schemas\": [\n    {\"fileMatch\": [\"a.json\"], \"url\": \"./a.schema.json\"}\n  ]\n}\n";
    w.write(".vscode/settings.json", settings);
    let (code, out, err) = w.run(&["init"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("created   .skillet/skills"), "{out}");
    assert!(out.contains("updated   .vscode/settings.json"), "{out}");
    assert!(w.path(".skillet/skills").is_dir());

    // The schema file is the real one, and the mapping points at it.
    let schema = fs::read_to_string(w.path(".skillet/skill.schema.json")).unwrap();
    let (_, printed, _) = w.run(&["schema"]);
    assert_eq!(
        serde_json::from_str::<Value>(&schema).unwrap(),
        serde_json::from_str::<Value>(&printed).unwrap()
    );
    let merged = fs::read_to_string(w.path(".vscode/settings.json")).unwrap();
    for kept in ["// my editor", "\"editor.fontSize\": 14", "./a.schema.json"] {
        assert!(merged.contains(kept), "{kept} lost:\n{merged}");
    }
    let parsed: Value = {
        let strict: String = merged
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        serde_json::from_str(&strict.replace(",\n  ]", "\n  ]").replace(",\n}", "\n}"))
            .unwrap_or_else(|e| panic!("{e}: {merged}"))
    };
    let ours = parsed["json.schemas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"] == "./.skillet/skill.schema.json")
        .unwrap_or_else(|| panic!("no mapping: {merged}"));
    assert_eq!(
        ours["fileMatch"],
        json!([".skillet/skills/*.json", "**/skill.json"])
    );
    assert!(w.ws.join(ours["url"].as_str().unwrap()).is_file());

    // A skill names the schema by a relative path that resolves to that file, and validates.
    let skill = w.skill(
        "named",
        json!({"$schema": "../skill.schema.json", "name": "named", "type": "prompt_inline",
               "description": "d", "prompt_template": "x"}),
    );
    assert!(
        skill
            .parent()
            .unwrap()
            .join("../skill.schema.json")
            .is_file()
    );
    let (code, out, err) = w.run(&["validate", "named"]);
    assert_eq!(code, 0, "{out}{err}");

    // Idempotent: nothing changes the second time.
    let (code, out, _) = w.run(&["init", "--json"]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    for file in report["files"].as_array().unwrap() {
        assert_eq!(file["action"], "unchanged", "{report}");
    }
    assert_eq!(
        fs::read_to_string(w.path(".vscode/settings.json")).unwrap(),
        merged
    );
}

#[test]
fn init_leaves_a_settings_file_it_cannot_parse_alone_and_says_what_to_add() {
    let w = World::new();
    let broken = "{\n  \"editor.fontSize\": 14,\n  \"oops\n";
    w.write(".vscode/settings.json", broken);
    let (code, out, err) = w.run(&["init"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("SKIPPED   .vscode/settings.json"), "{out}");
    assert!(out.contains("json.schemas"), "{out}");
    assert!(out.contains("./.skillet/skill.schema.json"), "{out}");
    assert_eq!(
        fs::read_to_string(w.path(".vscode/settings.json")).unwrap(),
        broken
    );
    assert!(
        w.path(".skillet/skill.schema.json").is_file(),
        "the rest is done"
    );
}

#[test]
fn init_never_writes_through_a_link_or_a_second_name() {
    // A cloned repository can ship .vscode, its settings.json or .skillet as links elsewhere.
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("settings.json");
    type Setup<'a> = (&'a str, &'a dyn Fn(&World));
    let setups: [Setup; 4] = [
        (".vscode is a link", &|w| {
            symlink(outside.path(), w.path(".vscode")).unwrap();
        }),
        ("settings.json is a link", &|w| {
            fs::create_dir_all(w.path(".vscode")).unwrap();
            symlink(&victim, w.path(".vscode/settings.json")).unwrap();
        }),
        (".skillet is a link", &|w| {
            symlink(outside.path(), w.path(".skillet")).unwrap();
        }),
        ("the schema file is a link", &|w| {
            fs::create_dir_all(w.path(".skillet/skills")).unwrap();
            symlink(&victim, w.path(".skillet/skill.schema.json")).unwrap();
        }),
    ];
    for (what, setup) in setups {
        fs::write(&victim, "{\"precious\": true}\n").unwrap();
        let w = World::new();
        setup(&w);
        let (code, out, err) = w.run(&["init"]);
        assert_eq!(code, 1, "{what}: {out}{err}");
        assert!(err.contains("symbolic link"), "{what}: {err}");
        assert_eq!(
            fs::read_to_string(&victim).unwrap(),
            "{\"precious\": true}\n",
            "{what}"
        );
        let names: Vec<_> = fs::read_dir(outside.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{what}: nothing written outside");
    }
    // A hard link: the settings are edited as a new file, the other name keeps its text.
    let w = World::new();
    fs::write(&victim, "{\"precious\": true}\n").unwrap();
    fs::create_dir_all(w.path(".vscode")).unwrap();
    fs::hard_link(&victim, w.path(".vscode/settings.json")).unwrap();
    let (code, out, err) = w.run(&["init"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "{\"precious\": true}\n"
    );
    assert!(
        fs::read_to_string(w.path(".vscode/settings.json"))
            .unwrap()
            .contains("skill.schema.json")
    );
}

/// A real repository in the world's workspace.
fn repo(w: &World) {
    fs::remove_dir_all(w.path(".git")).unwrap();
    git(w, &["init", "-q"]);
    git(w, &["config", "user.name", "Ada"]);
    git(w, &["config", "user.email", "ada@example.com"]);
    git(w, &["config", "commit.gpgsign", "false"]);
}

fn git(w: &World, args: &[&str]) -> (bool, String) {
    let out = w.command(Path::new("git")).args(args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn commit(w: &World, paths: &[&str], message: &str) -> (bool, String) {
    let mut add = vec!["add", "--"];
    add.extend_from_slice(paths);
    assert!(git(w, &add).0);
    git(w, &["commit", "-q", "-m", message])
}

#[test]
fn the_pre_commit_hook_refuses_a_broken_skill_and_accepts_a_good_one() {
    let w = World::new();
    repo(&w);
    let (code, out, err) = w.run(&["hooks", "install"]);
    assert_eq!(code, 0, "{out}{err}");
    let hook = w.path(".git/hooks/pre-commit");
    assert!(fs::metadata(&hook).unwrap().permissions().mode() & 0o111 != 0);

    w.write("README.md", "hi\n");
    let (ok, log) = commit(&w, &["README.md"], "no skills");
    assert!(ok, "{log}");

    greet(&w);
    let (ok, log) = commit(&w, &[".skillet/skills/greet.json"], "a good skill");
    assert!(ok, "{log}");
    assert!(log.contains("PASS  greet #1"), "its tests ran: {log}");

    w.write(
        ".skillet/skills/oops.json",
        r#"{"name": "oops", "type": "code_inlin"}"#,
    );
    let (ok, log) = commit(&w, &[".skillet/skills/oops.json"], "a broken skill");
    assert!(!ok, "a broken skill was committed: {log}");
    assert!(log.contains("commit refused"), "{log}");
    assert!(log.contains("code_inlin"), "says what is wrong: {log}");
    assert!(git(&w, &["rm", "-q", "--cached", ".skillet/skills/oops.json"]).0);
    fs::remove_file(w.path(".skillet/skills/oops.json")).unwrap();

    // Valid, but its test fails: refused too. So is a broken package skill's script change.
    let mut failing: Value =
        serde_json::from_str(&fs::read_to_string(w.path(".skillet/skills/greet.json")).unwrap())
            .unwrap();
    failing["tests"][0]["expect"]["stdout_equals"] = json!("Goodbye\n");
    w.skill("greet", failing);
    let (ok, log) = commit(&w, &[".skillet/skills/greet.json"], "a failing test");
    assert!(!ok, "{log}");
    assert!(log.contains("FAIL  greet #1"), "{log}");
    greet(&w);
    assert!(git(&w, &["add", ".skillet/skills/greet.json"]).0);

    w.write(
        ".skillet/skills/pkg/skill.json",
        r#"{"name": "pkg", "type": "code_inline", "command": "sh", "args": ["{skill_dir}/scripts/main.sh"],
            "tests": [{"expect": {"stdout_equals": "ok\n"}}]}"#,
    );
    w.write(".skillet/skills/pkg/scripts/main.sh", "echo broken\n");
    let (ok, log) = commit(&w, &[".skillet/skills/pkg"], "a package skill");
    assert!(!ok, "{log}");
    assert!(log.contains("FAIL  pkg #1"), "{log}");
    assert!(
        !log.contains("greet"),
        "only the skills of this commit are checked: {log}"
    );
    w.write(".skillet/skills/pkg/scripts/main.sh", "echo ok\n");
    let (ok, log) = commit(&w, &[".skillet/skills/pkg"], "a package skill, fixed");
    assert!(ok, "{log}");
}

#[test]
fn hooks_install_keeps_another_hook_unless_forced_and_follows_core_hooks_path() {
    let w = World::new();
    repo(&w);
    let theirs = "#!/bin/sh\necho their hook\n";
    w.write(".git/hooks/pre-commit", theirs);
    let (code, out, err) = w.run(&["hooks", "install"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        fs::read_to_string(w.path(".git/hooks/pre-commit")).unwrap(),
        theirs
    );

    let (code, out, err) = w.run(&["hooks", "install", "--force"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("pre-commit.bak"), "{out}");
    assert_eq!(
        fs::read_to_string(w.path(".git/hooks/pre-commit.bak")).unwrap(),
        theirs
    );
    let ours = fs::read_to_string(w.path(".git/hooks/pre-commit")).unwrap();
    assert!(ours.contains("skillet pre-commit hook"), "{ours}");
    // Installing again is quiet: skillet's own hook is not someone else's.
    let (code, out, _) = w.run(&["hooks", "install"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already"), "{out}");
    assert_eq!(
        fs::read_to_string(w.path(".git/hooks/pre-commit.bak")).unwrap(),
        theirs
    );

    assert!(git(&w, &["config", "core.hooksPath", "tools/hooks"]).0);
    let (code, out, err) = w.run(&["hooks", "install"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(w.path("tools/hooks/pre-commit").is_file(), "{out}");

    // Outside a repository it says so.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .current_dir(elsewhere.path())
        .env(
            "GIT_CEILING_DIRECTORIES",
            elsewhere.path().parent().unwrap(),
        )
        .args(["hooks", "install"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("git"),
        "{out:?}"
    );
    let _ = Command::new("true").status();
}
