//! A workspace `.skillet/skillet.toml` that cannot be read or parsed (issues 17 and 18): it comes
//! with the repository, so `list`, `info` and `validate` go on without it and say why, naming the
//! file and the line. Runs in that workspace are refused with the same text: the file may have
//! disabled a skill or lowered a limit, and ignoring it must not lift either. The global file,
//! the user's own, with the same text is still an error.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::Duration;

use common::World;

/// Long enough for a slow debug build, short enough that a FIFO that blocked fails the test.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A broken `skillet.toml`, and what its warning must quote to name the problem's place.
enum Broken {
    Text(&'static str, &'static str),
    Huge,
    Fifo,
}

fn variants() -> Vec<(&'static str, Broken)> {
    vec![
        (
            "syntax error",
            Broken::Text("disabled = [\"good\"]\n[x\n", "line 2"),
        ),
        (
            "invalid isolation",
            Broken::Text("[sandbox]\nisolation = \"x\"\n", "line 2"),
        ),
        (
            "invalid provider",
            Broken::Text("disabled = [\"good\"]\n[llm]\nprovider = \"x\"\n", "line 3"),
        ),
        (
            "wrong type",
            Broken::Text("[defaults]\ntimeout = \"soon\"\n", "line 2"),
        ),
        ("huge file", Broken::Huge),
        ("fifo", Broken::Fifo),
    ]
}

fn place(w: &World, rel: &str, broken: &Broken) -> &'static str {
    let path = w.path(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    match broken {
        Broken::Text(text, line) => {
            std::fs::write(&path, text).unwrap();
            line
        }
        Broken::Huge => {
            std::fs::write(&path, "# x\n".repeat(1_000_000)).unwrap();
            "large"
        }
        Broken::Fifo => {
            let status = std::process::Command::new("mkfifo")
                .arg(&path)
                .status()
                .unwrap();
            assert!(status.success());
            "FIFO"
        }
    }
}

fn world() -> World {
    let w = World::new();
    w.skill(
        "good",
        serde_json::json!({"name": "good", "description": "A good skill", "type": "prompt_inline",
                           "prompt_template": "hello from good"}),
    );
    w.write(
        "~/.config/skillet/skills/mine.json",
        r#"{"name": "mine", "description": "A global skill", "type": "prompt_inline",
            "prompt_template": "hello from mine"}"#,
    );
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
fn list_info_and_validate_warn_and_show_the_skills() {
    for (label, broken) in variants() {
        let w = world();
        let needle = place(&w, ".skillet/skillet.toml", &broken);
        let warned = |stderr: &str| {
            stderr.contains("warning")
                && stderr.contains(".skillet/skillet.toml")
                && stderr.contains(needle)
                && stderr.contains("ignored")
        };

        let (code, out, err) = run(&w, &["list"]);
        assert_eq!(code, 0, "{label}: list\n{out}\n{err}");
        assert!(
            out.contains("good") && out.contains("mine"),
            "{label}: {out}"
        );
        assert!(warned(&err), "{label}: list stderr: {err}");

        for name in ["good", "mine"] {
            let (code, out, err) = run(&w, &["info", name]);
            assert_eq!(code, 0, "{label}: info {name}\n{out}\n{err}");
            assert!(out.contains(name), "{label}: {out}");
            assert!(warned(&err), "{label}: info stderr: {err}");
        }

        let (code, out, err) = run(&w, &["validate"]);
        assert_eq!(code, 0, "{label}: validate\n{out}\n{err}");
        assert!(warned(&err), "{label}: validate stderr: {err}");
    }
}

#[test]
fn runs_are_refused_while_the_workspace_file_is_broken() {
    for (label, broken) in variants() {
        let w = world();
        let needle = place(&w, ".skillet/skillet.toml", &broken);
        // A global skill too: the broken file may have been what disabled it here.
        for name in ["good", "mine"] {
            let (code, out, err) = run(&w, &["run", name]);
            let all = format!("{out}\n{err}");
            assert_ne!(code, 0, "{label}: run {name} ran\n{all}");
            assert!(
                !out.contains(&format!("hello from {name}")),
                "{label}: {all}"
            );
            assert!(
                all.contains(".skillet/skillet.toml")
                    && all.contains(needle)
                    && all.contains("refused"),
                "{label}: run {name} does not say why\n{all}"
            );
        }
    }
    // Fixed, the same workspace runs again.
    let w = world();
    w.write(".skillet/skillet.toml", "[defaults]\ntimeout = 5\n");
    let (code, out, err) = run(&w, &["run", "mine"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("hello from mine"), "{out}");
}

#[test]
fn the_global_file_with_the_same_content_is_still_an_error() {
    for (label, broken) in variants() {
        let w = world();
        place(&w, "~/.config/skillet/skillet.toml", &broken);
        for args in [
            &["list"][..],
            &["info", "good"],
            &["validate"],
            &["run", "good"],
        ] {
            let (code, out, err) = run(&w, args);
            assert_ne!(code, 0, "{label}: {args:?} went on\n{out}\n{err}");
            assert!(
                err.contains(".config/skillet/skillet.toml"),
                "{label}: {args:?}: {err}"
            );
            assert!(!out.contains("hello from good"), "{label}: {out}");
        }
    }
}
