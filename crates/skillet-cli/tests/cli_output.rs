//! What commands print for a person: history times, prompt line ends, list rows, logs on
//! stderr, validate's warnings, completions, and a quiet end on a closed stdout.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use common::consistency::{json_of, world};
use serde_json::{Value, json};

#[test]
fn history_says_ago_once_and_shows_real_times() {
    let w = world();
    let (_, run) = w.run_json(&["echo"]);
    let id = run["execution_id"].as_str().unwrap();
    let (code, stdout, _) = w.run(&["history", "show", id]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("ago ago"), "{stdout}");
    let started = stdout.lines().find(|l| l.starts_with("started:")).unwrap();
    // started:     2026-12-03 08:46:01 UTC (0s ago)
    let text = started.trim_start_matches("started:").trim();
    let bytes = text.as_bytes();
    assert!(
        text.len() > 24
            && bytes[4] == b'-'
            && bytes[10] == b' '
            && bytes[13] == b':'
            && text[19..].starts_with(" UTC (")
            && text.ends_with("s ago)"),
        "{started}"
    );

    let (_, value, _) = json_of(&w, &["history", "show", id, "--json"]);
    let at = value["started_at"].as_str().unwrap();
    // 2026-12-03T08:46:01.250Z
    assert!(
        at.len() == 24 && &at[10..11] == "T" && at.ends_with('Z'),
        "{value}"
    );
    assert!(value["finished_at"].as_str().unwrap() >= at, "{value}");
    assert!(
        value["started_at_ms"].is_number(),
        "the stored field is kept"
    );
    let (_, list, _) = json_of(&w, &["history", "--json"]);
    assert_eq!(list[0]["started_at"], at);
}

#[test]
fn prompt_output_ends_its_line_on_a_terminal_and_not_in_a_pipe() {
    let w = world();
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        println!("SKIPPED: no /usr/bin/script to give skillet a terminal");
        return;
    }
    let skillet = assert_cmd::cargo::cargo_bin("skillet");
    let out = w
        .command(script)
        .args([
            "-qec",
            &format!("{} run hello", skillet.display()),
            "/dev/null",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.ends_with("Hello you\r\n"), "{text:?}");
    let (code, stdout, _) = w.run(&["run", "hello"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "Hello you"),
        "a pipe gets the bytes as they are"
    );
}

#[test]
fn list_marks_broken_skills_quotes_what_it_suggests_and_keeps_rows_on_one_line() {
    let w = world();
    w.skill(
        "multi",
        json!({"name": "multi", "description": "First line.\nSecond   line.\n", "type": "prompt_inline",
            "prompt_template": "x"}),
    );
    w.write(
        ".skillet/skills/My Tool.json",
        "{\"name\": \"my-tool\", \"bogus\": true}",
    );
    let (code, stdout, _) = w.run(&["list"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    let multi = lines.iter().find(|l| l.starts_with("multi")).unwrap();
    assert!(multi.ends_with("First line. Second line."), "{stdout}");
    assert_eq!(
        lines.iter().filter(|l| !l.starts_with('[')).count(),
        6,
        "a header and one line per skill: {stdout}"
    );
    assert!(
        stdout.contains("BROKEN: 1 error (skillet validate '.skillet/skills/My Tool.json')"),
        "the suggested command runs as written: {stdout}"
    );

    let (_, value, _) = json_of(&w, &["list", "--json"]);
    let rows = value.as_array().unwrap();
    let broken = rows.iter().find(|r| r["valid"] == false).unwrap();
    assert_eq!(broken["availability"], "broken", "{broken}");
    assert_eq!(
        broken["used"], true,
        "nothing else answers to its name: {broken}"
    );
    let multi = rows.iter().find(|r| r["name"] == "multi").unwrap();
    assert_eq!(
        multi["description"], "First line.\nSecond   line.\n",
        "JSON keeps the text"
    );
    assert_eq!(multi["availability"], "untrusted");
}

#[test]
fn a_broken_workspace_skill_does_not_hide_a_working_global_one() {
    let w = World::new();
    w.skill(
        "tool",
        json!({"name": "tool", "description": "mine", "type": "prompt_inline",
        "prompt_template": "x", "colour": "red"}),
    );
    w.write(
        "~/.config/skillet/skills/tool.json",
        &json!({"name": "tool", "description": "global", "type": "prompt_inline",
            "prompt_template": "from the global one"})
        .to_string(),
    );
    let (code, stdout, stderr) = w.run(&["list"]);
    assert_eq!(code, 0);
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("tool ")).collect();
    assert_eq!(rows.len(), 2, "both are shown: {stdout}");
    assert!(
        rows[0].contains("workspace")
            && rows[0].contains("BROKEN")
            && rows[0].contains("is used instead"),
        "{stdout}"
    );
    assert!(
        rows[1].contains("global") && rows[1].ends_with("global"),
        "{stdout}"
    );
    assert!(
        stderr.contains(".skillet/skills/tool.json (workspace) is broken, so")
            && stderr.contains("(global) is used instead"),
        "which wins and why: {stderr}"
    );

    let (_, value, _) = json_of(&w, &["list", "--json"]);
    let tools: Vec<&Value> = value
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == "tool")
        .collect();
    assert_eq!(
        tools
            .iter()
            .map(|t| (
                t["scope"].as_str().unwrap(),
                t["availability"].as_str().unwrap(),
                t["used"].as_bool().unwrap()
            ))
            .collect::<Vec<_>>(),
        [
            ("workspace", "broken", false),
            ("global", "available", true)
        ]
    );
    assert!(
        tools[0]["used_instead"]
            .as_str()
            .unwrap()
            .ends_with("skillet/skills/tool.json")
    );

    let (code, value) = w.run_json(&["tool"]);
    assert_eq!(
        (code, value["stdout"].as_str()),
        (0, Some("from the global one")),
        "{value}"
    );
    let (code, stdout, _) = w.run(&["info", "tool"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("instead of:  .skillet/skills/tool.json (broken, higher in precedence)"),
        "{stdout}"
    );
    let (_, value, _) = json_of(&w, &["info", "tool", "--json"]);
    assert!(
        value["used_instead_of"][0]
            .as_str()
            .unwrap()
            .ends_with(".skillet/skills/tool.json")
    );
}

#[test]
fn verbose_and_rust_log_turn_on_logs_on_stderr_only() {
    let w = world();
    let (code, stdout, stderr) = w.run(&["list", "--json"]);
    assert_eq!(code, 0);
    assert!(!stderr.contains("DEBUG"), "no logs unless asked: {stderr}");
    serde_json::from_str::<Value>(&stdout).unwrap();

    for verbose in [
        &["-v", "list", "--json"][..],
        &["list", "--verbose", "--json"],
    ] {
        let (code, stdout, stderr) = w.run(verbose);
        assert_eq!(code, 0);
        assert!(
            stderr.contains("DEBUG") && stderr.contains("skills discovered skills=3"),
            "{stderr}"
        );
        serde_json::from_str::<Value>(&stdout).expect("logs never reach stdout");
    }

    let out = w
        .skillet()
        .env("RUST_LOG", "skillet=debug")
        .args(["run", "echo", "--param", "word=secret-word"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("run finished skill=echo") && stderr.contains("status=\"ok\""),
        "{stderr}"
    );
    assert!(
        !stderr.contains("secret-word"),
        "values are not logged: {stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "secret-word\n");
}

#[test]
fn validate_no_longer_warns_about_cache_or_tests() {
    let w = world();
    w.skill(
        "later",
        json!({"name": "later", "description": "d", "type": "code_inline", "command": "/bin/true",
            "cache": {"ttl": 300},
            "tests": [{"params": {}, "expect": {"exit_code": 0}}]}),
    );
    let (code, stdout, stderr) = w.run(&["validate", "later"]);
    assert_eq!(code, 0, "still valid: {stdout}{stderr}");
    // Both are acted on now: `skillet run` caches, `skillet test` runs the tests.
    assert!(!stderr.contains("not yet enforced"), "{stderr}");
}

#[test]
fn completions_offer_the_skill_names_found_at_completion_time() {
    let w = world();
    w.skill(
        "count-lines",
        json!({"name": "count-lines", "description": "d", "aliases": ["cl"], "type": "code_inline",
            "command": "wc", "args": ["-l"]}),
    );
    w.write(".skillet/skills/broken.json", "{\"name\": \"broken\"");
    let (code, stdout, _) = w.run(&["list", "--names"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["count-lines", "cl", "echo", "explain", "hello"],
        "names, each with its aliases"
    );
    assert!(
        !stdout.contains("broken"),
        "a broken skill cannot be run: {stdout}"
    );

    let (_, zsh, _) = w.run(&["completions", "zsh"]);
    assert!(
        zsh.contains(":name -- Skill name or alias:_skillet_skill_names'")
            && zsh.contains("skillet list --names"),
        "{zsh}"
    );
    let (_, fish, _) = w.run(&["completions", "fish"]);
    assert!(
        fish.contains("-f -a \"(skillet list --names 2>/dev/null)\""),
        "{fish}"
    );

    let bash = std::path::Path::new("/bin/bash");
    if !bash.exists() {
        println!("SKIPPED: no /bin/bash to run the completion script in");
        return;
    }
    let (_, script, _) = w.run(&["completions", "bash"]);
    w.write("completion.bash", &script);
    let bin_dir = assert_cmd::cargo::cargo_bin("skillet")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let complete = |line: &str| {
        let out = w
            .command(bash)
            .env("PATH", &path)
            .arg("-c")
            .arg(format!(
                "source ./completion.bash; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; \
                 read -ra COMP_WORDS <<< \"$COMP_LINE\"; \
                 [[ \"$COMP_LINE\" == *' ' ]] && COMP_WORDS+=(''); \
                 COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); \
                 _skillet_skill_names skillet \"${{COMP_WORDS[COMP_CWORD]}}\"; \
                 printf '%s\\n' \"${{COMPREPLY[@]}}\""
            ))
            .output()
            .unwrap();
        let mut words: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        words.sort();
        words
    };
    assert_eq!(complete("skillet run c"), ["cl", "count-lines"]);
    assert_eq!(complete("skillet info e"), ["echo", "explain"]);
    assert_eq!(complete("skillet -C . enable h"), ["hello"]);
    assert!(
        complete("skillet run --para").contains(&"--param".to_owned()),
        "options still complete as before"
    );
    // A skill added after the script was written completes too.
    w.skill("zebra", json!({"name": "zebra", "description": "d", "type": "prompt_inline", "prompt_template": "z"}));
    assert_eq!(complete("skillet run z"), ["zebra"]);
}

#[test]
fn a_closed_stdout_ends_skillet_quietly_with_141() {
    let w = world();
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["info", "echo"],
        &["schema"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
    }
}
