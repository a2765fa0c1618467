//! `skillet list`, `info` and `validate` in a workspace holding hostile files (issue 18): a FIFO,
//! links to devices, a directory where a manifest should be, a 2 MB file, a 100,000-character
//! description, nesting ten thousand deep. Every command finishes, exits as documented and still
//! shows the good skill; each hostile file is broken with a diagnostic naming the limit.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::path::Path;
use std::time::Duration;

use common::World;

/// Long enough for a slow debug build, short enough that a FIFO that blocked fails the test.
const TIMEOUT: Duration = Duration::from_secs(60);

fn fifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn hostile_workspace() -> World {
    let w = World::new();
    w.skill(
        "good",
        serde_json::json!({"name": "good", "description": "A good skill", "type": "prompt_inline",
                           "prompt_template": "hi"}),
    );
    let skills = w.path(".skillet/skills");
    fifo(&skills.join("fifo.json"));
    fifo(&skills.join("pipe/skill.json"));
    std::os::unix::fs::symlink("/dev/zero", skills.join("zero.json")).unwrap();
    std::fs::create_dir_all(skills.join("dir/skill.json")).unwrap();
    w.write(
        ".skillet/skills/big.json",
        &format!(
            r#"{{"name": "big", "description": "d", "type": "prompt_inline", "prompt_template": "{}"}}"#,
            "x".repeat(2_000_000)
        ),
    );
    w.write(
        ".skillet/skills/long.json",
        &format!(
            r#"{{"name": "long", "description": "{}", "type": "prompt_inline", "prompt_template": "hi"}}"#,
            "d".repeat(100_000)
        ),
    );
    w.write(".skillet/skills/deep.json", &"[".repeat(10_000));
    w
}

fn run(w: &World, args: &[&str]) -> (i32, String, String) {
    let out = w.skillet().args(args).timeout(TIMEOUT).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_shows_the_good_skill_and_marks_each_hostile_file_broken() {
    let w = hostile_workspace();
    let (code, stdout, stderr) = run(&w, &["list"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("good"), "{stdout}");
    assert!(stdout.contains("A good skill"), "{stdout}");
    // The table stays readable: no line carries the 100,000 characters.
    assert!(
        stdout
            .lines()
            .chain(stderr.lines())
            .all(|l| l.len() < 2_000),
        "an overlong line reached the terminal"
    );

    let (code, stdout, stderr) = run(&w, &["list", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = listed.as_array().unwrap();
    let row = |file: &str| {
        rows.iter()
            .find(|r| r["path"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("{file} not listed: {stdout}"))
    };
    // Valid; `untrusted` only because this workspace was never trusted (`skillet trust`).
    assert_eq!(row("/good.json")["valid"], true);
    assert_eq!(row("/good.json")["availability"], "untrusted");
    for (file, why) in [
        ("/fifo.json", "FIFO"),
        ("/pipe/skill.json", "FIFO"),
        ("/zero.json", "leaves"),
        ("/big.json", "the limit for a skill file is 1048576 bytes"),
        (
            "/long.json",
            "`description` is 100000 characters long; the limit is 4096",
        ),
        ("/deep.json", "nested 10000 levels deep; the limit is 64"),
    ] {
        let r = row(file);
        assert_eq!(r["availability"], "broken", "{file}");
        let errors = r["errors"].to_string();
        assert!(errors.contains(why), "{file}: {errors}");
    }
}

#[test]
fn info_and_validate_finish_and_report_the_limits() {
    let w = hostile_workspace();
    let (code, stdout, stderr) = run(&w, &["info", "good"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("A good skill"), "{stdout}");

    let (code, stdout, stderr) = run(&w, &["validate"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("the limit is 4096") && stderr.contains("the limit is 64"),
        "{stderr}"
    );
    assert!(stdout.contains("1 valid, 6 invalid"), "{stdout}");

    // A skill folder whose manifest is a FIFO is checked as that skill, by discovery's rule.
    let (code, stdout, stderr) = run(&w, &["validate", ".skillet/skills/pipe", "--json"]);
    assert_eq!(code, 1, "{stderr}");
    let checked: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(checked.as_array().unwrap().len(), 1, "{stdout}");
    assert!(
        checked[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("pipe/skill.json")
    );
    assert!(checked[0]["diagnostics"].to_string().contains("FIFO"));
}
