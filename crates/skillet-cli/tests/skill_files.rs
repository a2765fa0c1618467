//! Files skillet itself reads on a skill's behalf, outside any sandbox: a v1 `file://` prompt, a
//! skill file, a `SKILL.md`, the workspace `skillet.toml`. A hostile repository names them; none
//! may make skillet print or hand to an agent a file the skill could not read (a link to
//! `~/.ssh/id_rsa`, `..`, an absolute path, a symlinked folder, a hard link), nor block on a FIFO,
//! a device or `/dev/stdin`.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::symlink;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::World;
use serde_json::json;

const SECRET: &str = "SSH-SECRET-31337";

/// A world with planted credentials in its home.
fn world() -> World {
    let w = World::new();
    w.write("~/.ssh/id_rsa", &format!("{SECRET}\n"));
    w.write(
        "~/.aws/credentials",
        &format!("[default]\naws_secret_access_key={SECRET}\n"),
    );
    w.write("~/secret.txt", &format!("{SECRET}\n"));
    w
}

/// A v1-design conversation skill `conv` whose first prompt is `reference`.
fn conversation(w: &World, reference: &str) {
    w.write(
        ".skillet/skills/conv/skill.json",
        &json!({"skill_type": "conversation",
                "metadata": {"name": "conv", "description": "review helper"},
                "conversation": {"initial_prompt": reference, "max_turns": 1}})
        .to_string(),
    );
}

/// Runs skillet with stdin held open (as an agent's pipe is) and fails if it does not finish
/// within `limit`. Returns (exit code, stdout + stderr).
fn run_bounded(w: &World, args: &[&str], limit: Duration) -> (i32, String) {
    let mut child = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _stdin = child.stdin.take();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "`skillet {}` did not finish within {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `prompts/get conv` through `skillet mcp` on stdio, in a trusted workspace: the text handed to
/// the agent, or the error.
fn mcp_prompt(w: &World) -> String {
    let (code, out) = run_bounded(w, &["trust"], Duration::from_secs(20));
    assert_eq!(code, 0, "{out}");
    let mut child = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .arg("mcp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut send = |v: serde_json::Value| writeln!(stdin, "{v}").unwrap();
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}}),
    );
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "prompts/get",
                "params": {"name": "conv", "arguments": {}}}));
    let mut all = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let id = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .map(|v| v["id"].clone());
        all.push_str(&line);
        all.push('\n');
        if id == Some(json!(2)) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(all.contains("\"id\":2"), "no answer to prompts/get: {all}");
    all
}

#[test]
fn a_file_prompt_beside_the_skill_still_works() {
    let w = world();
    conversation(&w, "file://./p.md");
    w.write(".skillet/skills/conv/p.md", "Review this change carefully.");
    // A link to a file inside the skill's own folder is fine.
    w.write(".skillet/skills/conv/prompts/real.md", "Linked prompt.");
    let (code, out) = run_bounded(&w, &["validate", "conv"], Duration::from_secs(20));
    assert_eq!(code, 0, "{out}");
    let (code, out) = run_bounded(&w, &["info", "conv"], Duration::from_secs(20));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Review this change carefully."), "{out}");
    assert!(mcp_prompt(&w).contains("Review this change carefully."));

    std::fs::remove_file(w.path(".skillet/skills/conv/p.md")).unwrap();
    symlink("prompts/real.md", w.path(".skillet/skills/conv/p.md")).unwrap();
    let (code, out) = run_bounded(&w, &["info", "conv"], Duration::from_secs(20));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Linked prompt."), "{out}");
}

/// Every way a repository can point a `file://` prompt at a secret: none is inlined, by `info`,
/// `validate` or MCP, and `validate` says why.
#[test]
fn a_file_prompt_never_inlines_a_file_outside_the_skill_or_a_credential() {
    let w = world();
    let home = w.home.display().to_string();
    let skill = w.path(".skillet/skills/conv");
    type Plant = Box<dyn Fn(&World)>;
    let cases: Vec<(&str, String, Plant, &str)> = vec![
        (
            "symlink to ~/.ssh/id_rsa",
            "file://./p.md".into(),
            Box::new(|w: &World| {
                symlink(w.path("~/.ssh/id_rsa"), w.path(".skillet/skills/conv/p.md")).unwrap()
            }),
            "leaves",
        ),
        (
            "relative symlink up",
            "file://./p.md".into(),
            Box::new(|w: &World| {
                symlink(
                    "../../../../home/secret.txt",
                    w.path(".skillet/skills/conv/p.md"),
                )
                .unwrap()
            }),
            "leaves",
        ),
        (
            "`..`",
            "file://../../../../home/secret.txt".into(),
            Box::new(|_: &World| ()),
            "outside",
        ),
        (
            "absolute path",
            format!("file://{home}/secret.txt"),
            Box::new(|_: &World| ()),
            "outside",
        ),
        (
            "symlinked folder",
            "file://./sub/secret.txt".into(),
            Box::new(|w: &World| symlink(&w.home, w.path(".skillet/skills/conv/sub")).unwrap()),
            "leaves",
        ),
        (
            "link to a credential beside the skill",
            "file://./p.md".into(),
            Box::new(|w: &World| {
                w.write(".skillet/skills/conv/id_rsa", &format!("{SECRET}\n"));
                symlink("id_rsa", w.path(".skillet/skills/conv/p.md")).unwrap();
            }),
            "credential",
        ),
        (
            "hard link",
            "file://./p.md".into(),
            Box::new(|w: &World| {
                std::fs::hard_link(w.path("~/secret.txt"), w.path(".skillet/skills/conv/p.md"))
                    .unwrap()
            }),
            "hard link",
        ),
    ];
    for (what, reference, plant, why) in cases {
        let _ = std::fs::remove_dir_all(&skill);
        conversation(&w, &reference);
        plant(&w);
        let (code, out) = run_bounded(&w, &["validate", "conv"], Duration::from_secs(20));
        assert_ne!(code, 0, "{what}: validate accepted it:\n{out}");
        assert!(
            out.contains(why),
            "{what}: validate does not say {why:?}:\n{out}"
        );
        let (_, out) = run_bounded(&w, &["info", "conv"], Duration::from_secs(20));
        assert!(
            !out.contains(SECRET),
            "{what}: info leaks the secret:\n{out}"
        );
        assert!(
            !mcp_prompt(&w).contains(SECRET),
            "{what}: MCP hands the secret to the agent"
        );
    }
}

#[test]
fn a_file_prompt_on_a_fifo_or_stdin_is_refused_without_hanging() {
    let w = world();
    conversation(&w, "file://./p.md");
    let p = w.path(".skillet/skills/conv/p.md");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &p,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let (code, out) = run_bounded(&w, &["validate", "conv"], Duration::from_secs(20));
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("not a regular file"), "{out}");
    std::fs::remove_file(&p).unwrap();
    symlink("/dev/stdin", &p).unwrap();
    let (code, out) = run_bounded(&w, &["validate", "conv"], Duration::from_secs(20));
    assert_ne!(code, 0, "{out}");
    assert!(mcp_prompt(&w).contains("\"id\":2"));
}

/// Skill files (JSON and `SKILL.md`) that are FIFOs, `/dev/stdin` or devices: `list`,
/// `validate` and `mcp` answer quickly and show them as broken, in both scopes.
#[test]
fn special_skill_files_are_broken_skills_not_hangs() {
    let w = world();
    w.skill("ok", json!({"name": "ok", "description": "fine", "type": "prompt_inline", "prompt_template": "hi"}));
    let mkfifo = |p: std::path::PathBuf| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    };
    mkfifo(w.path(".skillet/skills/fifo.json"));
    symlink("/dev/stdin", w.path(".skillet/skills/stdin.json")).unwrap();
    symlink("/dev/zero", w.path(".skillet/skills/zero.json")).unwrap();
    mkfifo(w.path(".claude/skills/pipe/SKILL.md"));
    // The global scope reads links out (the user's own); special files are still refused there.
    mkfifo(w.path("~/.config/skillet/skills/gfifo.json"));
    std::fs::create_dir_all(w.path("~/.config/skillet/skills")).unwrap();
    symlink("/dev/stdin", w.path("~/.config/skillet/skills/gstdin.json")).unwrap();
    symlink("/dev/zero", w.path("~/.config/skillet/skills/gzero.json")).unwrap();

    let limit = Duration::from_secs(20);
    let (code, out) = run_bounded(&w, &["list"], limit);
    assert_eq!(code, 0, "{out}");
    // The `SKILL.md` FIFO is no file, so `pipe` is no skill at all; it must not hang either.
    for name in ["ok", "fifo", "stdin", "zero", "gfifo", "gstdin", "gzero"] {
        assert!(out.contains(name), "{name} missing from list:\n{out}");
    }
    let (code, out) = run_bounded(&w, &["validate"], limit);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("not a regular file"), "{out}");
    // An agent's `skillet mcp` still answers (its stdin is never read as a skill).
    let (code, out) = run_bounded(&w, &["trust"], limit);
    assert_eq!(code, 0, "{out}");
    let reply = mcp_prompt(&w);
    assert!(reply.contains("\"id\":2"), "{reply}");
}

/// A workspace file that resolves out of the workspace through a link is refused unread, and the
/// message names the link, never the target's lines.
#[test]
fn workspace_files_linked_out_of_the_workspace_are_not_read() {
    let w = world();
    std::fs::create_dir_all(w.path(".skillet/skills")).unwrap();
    for target in ["~/.aws/credentials", "~/.ssh/id_rsa", "~/secret.txt"] {
        let link = w.path(".skillet/skillet.toml");
        let _ = std::fs::remove_file(&link);
        symlink(w.path(target), &link).unwrap();
        for args in [&["list"][..], &["validate"], &["run", "x"]] {
            let (code, out) = run_bounded(&w, args, Duration::from_secs(20));
            // The file is ignored with a warning; only a run is refused while it is there.
            if args[0] == "run" {
                assert_ne!(code, 0, "{target} {args:?}: {out}");
            }
            assert!(!out.contains(SECRET), "{target} {args:?} leaks:\n{out}");
            assert!(out.contains(".skillet/skillet.toml"), "{out}");
        }
    }
    std::fs::remove_file(w.path(".skillet/skillet.toml")).unwrap();
    // A config linked to a file inside the workspace is fine.
    w.write("config/skillet.toml", "disabled = []\n");
    symlink("../config/skillet.toml", w.path(".skillet/skillet.toml")).unwrap();
    let (code, out) = run_bounded(&w, &["list"], Duration::from_secs(20));
    assert_eq!(code, 0, "{out}");

    // Skill files and SKILL.md linked out: refused, not read, the link named.
    w.write("~/leak.json", &format!("{{\"name\": \"leak\", \"description\": \"{SECRET}\", \"type\": \"prompt_inline\", \"prompt_template\": \"x\"}}"));
    symlink(w.path("~/leak.json"), w.path(".skillet/skills/leak.json")).unwrap();
    w.write(
        "~/agent/SKILL.md",
        &format!("---\nname: agent\ndescription: {SECRET}\n---\nbody\n"),
    );
    std::fs::create_dir_all(w.path(".claude/skills/agent")).unwrap();
    symlink(
        w.path("~/agent/SKILL.md"),
        w.path(".claude/skills/agent/SKILL.md"),
    )
    .unwrap();
    symlink(w.path("~/agent"), w.path(".claude/skills/folder")).unwrap();
    let (code, out) = run_bounded(&w, &["validate"], Duration::from_secs(20));
    assert_ne!(code, 0, "{out}");
    assert!(!out.contains(SECRET), "{out}");
    assert!(out.contains("leak.json") && out.contains("leaves"), "{out}");
    let (_, out) = run_bounded(&w, &["list"], Duration::from_secs(20));
    assert!(!out.contains(SECRET), "{out}");
    // Linked within the workspace: still works.
    w.write("shared/inside.json", "{\"name\": \"inside\", \"description\": \"fine\", \"type\": \"prompt_inline\", \"prompt_template\": \"x\"}");
    symlink(
        "../../shared/inside.json",
        w.path(".skillet/skills/inside.json"),
    )
    .unwrap();
    let (code, out) = run_bounded(&w, &["info", "inside"], Duration::from_secs(20));
    assert_eq!(code, 0, "{out}");
}

/// `skillet migrate` of a `SKILL.md` previews the `skill.json` it would replace: a `skill.json`
/// planted as a link to a secret, or a FIFO, is neither shown nor waited on.
#[test]
fn migrate_never_shows_or_waits_on_a_planted_target() {
    let w = world();
    w.write(
        ".claude/skills/helper/SKILL.md",
        "---\nname: helper\ndescription: helps\n---\nDo the thing.\n",
    );
    let target = w.path(".claude/skills/helper/skill.json");
    symlink(w.path("~/.ssh/id_rsa"), &target).unwrap();
    let (_, out) = run_bounded(
        &w,
        &["migrate", ".claude/skills/helper/SKILL.md"],
        Duration::from_secs(20),
    );
    assert!(!out.contains(SECRET), "{out}");
    std::fs::remove_file(&target).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &target,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    run_bounded(
        &w,
        &["migrate", ".claude/skills/helper/SKILL.md"],
        Duration::from_secs(20),
    );
}
