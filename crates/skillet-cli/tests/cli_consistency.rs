//! One consistent command line: `--json` everywhere (errors included), clear usage errors with
//! hints, lenient workspace configuration, parameter values from files, history times.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use serde_json::{Value, json};

/// A world with one code skill `echo` (prints its `word`) and one prompt skill `hello`.
fn world() -> World {
    let w = World::new();
    w.skill(
        "echo",
        json!({"name": "echo", "description": "Print a word", "type": "code_inline",
            "command": "/bin/echo", "args": ["{word}"],
            "parameters": [{"name": "word", "type": "string", "default": "hi"}]}),
    );
    w.skill(
        "hello",
        json!({"name": "hello", "description": "d", "type": "prompt_inline",
            "prompt_template": "Hello {who}",
            "parameters": [{"name": "who", "type": "string", "default": "you"}]}),
    );
    w.skill(
        "explain",
        json!({"name": "explain", "description": "d", "type": "conversation",
            "prompt": "Explain.", "context_files": {"patterns": ["*.md"]}}),
    );
    w
}

/// Runs `args` and parses stdout as one JSON document, whatever the exit code.
fn json_of(w: &World, args: &[&str]) -> (i32, Value, String) {
    let (code, stdout, stderr) = w.run(args);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "`skillet {}`: stdout is not JSON ({e}):\n{stdout}\nstderr: {stderr}",
            args.join(" ")
        )
    });
    (code, value, stderr)
}

/// An error answer: `{"error": {"message", "hint"?, "exit_code"}}` whose code is the exit code.
fn assert_error(args: &[&str], code: i32, value: &Value, expected: i32) {
    assert_eq!(code, expected, "`skillet {}`: {value}", args.join(" "));
    let error = &value["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "`skillet {}`: {value}",
        args.join(" ")
    );
    assert_eq!(
        error["exit_code"],
        expected,
        "`skillet {}`: {value}",
        args.join(" ")
    );
    assert!(
        error.get("hint").is_none_or(Value::is_string),
        "`skillet {}`: {value}",
        args.join(" ")
    );
}

#[test]
fn every_command_prints_only_json_with_json_on_success() {
    let w = world();
    let trusted_dir = w.ws.display().to_string();
    let cases: &[&[&str]] = &[
        &["list", "--json"],
        &["info", "echo", "--json"],
        &["validate", "--json"],
        &["migrate", ".skillet/skills/echo.json", "--json"],
        &["schema", "--json"],
        &["run", "echo", "--json"],
        &["run", "echo", "--dry-run", "--json"],
        &["run", "hello", "--dry-run", "--json"],
        &["run", "explain", "--dry-run", "--json"],
        &["history", "--json"],
        &["breaker", "--json"],
        &["breaker", "reset", "echo", "--json"],
        &["doctor", "--json"],
        &["context", "explain", "--json"],
        &["trust", &trusted_dir, "--json"],
        &["trust", "--list", "--json"],
        &["disable", "echo", "--json"],
        &["enable", "echo", "--json"],
        &["completions", "bash", "--json"],
        &["session", "list", "--json"],
        &["daemon", "status", "--json"],
        &["daemon", "stop", "--json"],
    ];
    for args in cases {
        let (code, value, stderr) = json_of(&w, args);
        assert_eq!(code, 0, "`skillet {}`: {value}\n{stderr}", args.join(" "));
        assert!(
            value.get("error").is_none(),
            "`skillet {}`: {value}",
            args.join(" ")
        );
    }
    let (_, value, _) = json_of(&w, &["history", "--json"]);
    let id = value[0]["id"].as_str().unwrap().to_owned();
    let (code, value, _) = json_of(&w, &["history", "show", &id, "--json"]);
    assert_eq!((code, value["id"].as_str()), (0, Some(id.as_str())));
    let (_, value, _) = json_of(&w, &["disable", "echo", "--json"]);
    assert_eq!(
        (value["skill"].as_str(), value["state"].as_str()),
        (Some("echo"), Some("disabled"))
    );
    let (_, value, _) = json_of(&w, &["completions", "bash", "--json"]);
    assert!(
        value["script"].as_str().unwrap().contains("skillet"),
        "{value}"
    );
}

#[test]
fn every_command_prints_its_error_as_json_with_the_documented_exit_code() {
    let w = world();
    let cases: &[(&[&str], i32)] = &[
        (&["list", "--bogus", "--json"], 2),
        (&["info", "nope", "--json"], 127),
        (&["info", "--json"], 2),
        (&["schema", "--bogus", "--json"], 2),
        (&["run", "--json"], 2),
        (&["run", "echo", "--param", "word", "--json"], 2),
        (&["run", "echo", "--params", "[1]", "--json"], 2),
        (
            &["run", "echo", "--param", "word=@/no/such/file", "--json"],
            2,
        ),
        (&["history", "--since", "soon", "--json"], 2),
        (&["history", "show", "0000", "--json"], 1),
        (&["breaker", "reset", "--json"], 2),
        (&["doctor", "--bogus", "--json"], 2),
        (&["context", "nope", "--json"], 127),
        (&["trust", "/no/such/dir", "--json"], 125),
        (&["disable", "nope", "--json"], 127),
        (&["enable", "--json"], 2),
        (&["completions", "no-such-shell", "--json"], 2),
        (&["daemon", "--json"], 2),
        (&["session", "start", "nope", "--json"], 127),
        (&["serve", "--auth-token", "x", "--json"], 2),
        (&["mcp", "--max-line-bytes", "1", "--json"], 2),
    ];
    for (args, expected) in cases {
        let (code, value, _) = json_of(&w, args);
        assert_error(args, code, &value, *expected);
    }
    // Commands whose answer is a report say what failed inside it, with exit 1.
    for args in [
        &["validate", "/no/such", "--json"][..],
        &["migrate", "/no/such", "--json"],
    ] {
        let (code, value, _) = json_of(&w, args);
        assert_eq!(code, 1, "`skillet {}`: {value}", args.join(" "));
    }
    // A run that fails is a result, not an error object: its status says what happened.
    let (code, value, _) = json_of(&w, &["run", "nope", "--json"]);
    assert_eq!(
        (code, value["status"].as_str()),
        (127, Some("not_found")),
        "{value}"
    );
}

#[test]
fn a_broken_global_configuration_is_a_json_error_too() {
    let w = world();
    w.write("~/.config/skillet/skillet.toml", "[defaults]\ntimout = 5\n");
    let (code, value, _) = json_of(&w, &["list", "--json"]);
    assert_error(&["list"], code, &value, 125);
    assert!(
        value["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timout"),
        "{value}"
    );
}

#[test]
fn a_missing_skill_name_is_one_clear_error_with_a_hint() {
    let w = world();
    for command in [
        &["run"][..],
        &["info"],
        &["context"],
        &["enable"],
        &["session", "start"],
    ] {
        let (code, stdout, stderr) = w.run(command);
        let said = command.join(" ");
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            stderr.contains(&format!(
                "skillet: error: `skillet {said}` needs the name of a skill"
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "hint: write `skillet {said} NAME`; `skillet list` shows"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn a_param_without_an_equals_sign_is_refused_with_a_hint_and_runs_nothing() {
    let w = world();
    let (code, stdout, stderr) = w.run(&["run", "echo", "--param", "word"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("skillet: error: --param \"word\" has no `=`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: write --param NAME=VALUE"),
        "{stderr}"
    );
    let (_, value, _) = json_of(&w, &["history", "--json"]);
    assert_eq!(value, json!([]), "nothing ran");
}

#[test]
fn an_unknown_key_in_a_workspace_configuration_is_a_warning_not_a_failure() {
    let w = world();
    w.write(
        ".skillet/skillet.toml",
        "disabled = [\"hello\"]\ncolour = \"red\"\n[defaults]\ntimout = 5\n",
    );
    for args in [
        &["list"][..],
        &["run", "echo", "-p", "word=ok"],
        &["info", "echo"],
    ] {
        let (code, stdout, stderr) = w.run(args);
        assert_eq!(code, 0, "`skillet {}`: {stdout}\n{stderr}", args.join(" "));
        assert!(
            stderr.contains("skillet.toml:2: unknown field `colour`")
                && stderr.contains("`colour` is ignored"),
            "{stderr}"
        );
        assert!(
            stderr.contains("skillet.toml:4: unknown field `timout`")
                && stderr.contains("`timeout`"),
            "the warning says what was meant: {stderr}"
        );
    }
    let (_, value, _) = json_of(&w, &["list", "--json"]);
    let hello = value
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "hello")
        .unwrap();
    assert_eq!(
        hello["availability"], "disabled",
        "the known keys still apply"
    );
}

#[test]
fn an_unknown_key_in_the_global_configuration_is_still_an_error() {
    let w = world();
    w.write("~/.config/skillet/skillet.toml", "colour = \"red\"\n");
    let (code, _, stderr) = w.run(&["list"]);
    assert_eq!(code, 125, "{stderr}");
    assert!(
        stderr.contains("skillet: error:") && stderr.contains("colour"),
        "{stderr}"
    );
}

#[test]
fn a_parameter_over_the_kernel_limit_is_refused_before_anything_runs() {
    let w = world();
    // Only a file or stdin can carry such a value: skillet's own command line could not.
    let big = "a".repeat(200 * 1024);
    w.write("big.txt", &big);
    for (value, stdin) in [("word=@big.txt", ""), ("word=@-", big.as_str())] {
        let out = w
            .skillet()
            .args(["run", "echo", "--param", value])
            .write_stdin(stdin)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(out.stdout.is_empty());
        assert!(
            stderr.contains("parameter `word` is 204800 bytes")
                && stderr.contains("131072 bytes (MAX_ARG_STRLEN)")
                && stderr.contains("hint: pass large data on the skill's stdin"),
            "{stderr}"
        );
    }
    let (_, value, _) = json_of(&w, &["history", "--json"]);
    assert_eq!(value, json!([]), "nothing was started");
    // Just under the limit still runs.
    w.write("fits.txt", &"b".repeat(128 * 1024 - 64));
    let (code, value) = w.run_json(&["echo", "--param", "word=@fits.txt"]);
    assert_eq!(
        (code, value["status"].as_str()),
        (0, Some("ok")),
        "{}",
        value["error"]
    );
}

#[test]
fn a_spawn_failure_is_reported_once_and_not_retried() {
    let w = World::new();
    // A skill whose program does not exist: the spawn fails. (An argument over the kernel's
    // limit no longer gets this far: a string in a skill file is at most 64 KiB, docs/limits.md.)
    w.skill(
        "huge",
        json!({"name": "huge", "description": "d", "type": "code_inline",
            "command": "/nonexistent/skillet-test-program",
            "retry": {"max_attempts": 3, "initial_backoff_ms": 1, "max_backoff_ms": 2}}),
    );
    let (code, value) = w.run_json(&["huge"]);
    assert_eq!(
        (code, value["status"].as_str()),
        (125, Some("spawn_failed")),
        "{value}"
    );
    assert_eq!(value["attempt"], 1, "{value}");
    let (_, history, _) = json_of(&w, &["history", "--json"]);
    assert_eq!(
        history.as_array().unwrap().len(),
        1,
        "one attempt: {history}"
    );
}

#[test]
fn parameter_values_come_from_a_file_from_stdin_or_literally_after_two_ats() {
    let w = world();
    w.write("word.txt", "from a file");
    let (code, value) = w.run_json(&["echo", "--param", "word=@word.txt"]);
    assert_eq!(
        (code, value["stdout"].as_str()),
        (0, Some("from a file\n")),
        "{value}"
    );

    let out = w
        .skillet()
        .args(["run", "echo", "--param", "word=@-", "--json"])
        .write_stdin("from stdin")
        .output()
        .unwrap();
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["stdout"], "from stdin\n", "{value}");

    let (code, value) = w.run_json(&["echo", "--param", "word=@@handle"]);
    assert_eq!(
        (code, value["stdout"].as_str()),
        (0, Some("@handle\n")),
        "{value}"
    );

    let (code, stdout, stderr) = w.run(&["run", "echo", "--param", "word=@missing.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("--param word=@missing.txt: cannot read missing.txt")
            && stderr.contains("--param word=@@missing.txt"),
        "the hint says how to pass a literal @: {stderr}"
    );
}

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
fn every_exit_code_is_in_the_readme_table_and_run_help_names_them() {
    let readme = std::fs::read_to_string(common::examples_dir().join("../README.md")).unwrap();
    let table = &readme[readme.find("## Exit codes").expect("an Exit codes section")..];
    for row in [
        "| 0 |",
        "| 1 |",
        "| 2 |",
        "| 75 |",
        "| 124 |",
        "| 125 |",
        "| 127 |",
        "| 130, 143 |",
        "| 137 |",
        "| 141 |",
        "| 159 |",
    ] {
        assert!(table.contains(row), "README's exit code table lacks {row}");
    }
    let w = World::new();
    let (_, help, _) = w.run(&["run", "--help"]);
    for code in [
        "124 timeout",
        "137 resource limit",
        "159 killed",
        "75 circuit breaker open",
        "130/143 cancelled",
        "2 invalid parameters",
        "127 no such skill",
        "125 skillet could not",
    ] {
        assert!(help.contains(code), "`skillet run --help` lacks {code:?}");
    }
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
fn validate_warns_that_cache_tests_and_dependencies_are_not_yet_enforced() {
    let w = world();
    w.skill(
        "later",
        json!({"name": "later", "description": "d", "type": "code_inline", "command": "/bin/true",
            "cache": {"ttl": 300}, "dependencies": {"echo": "^1.0"},
            "tests": [{"params": {}, "expect": {"exit_code": 0}}]}),
    );
    let (code, stdout, stderr) = w.run(&["validate", "later"]);
    assert_eq!(code, 0, "still valid: {stdout}{stderr}");
    for field in ["cache", "tests", "dependencies"] {
        assert!(
            stderr.contains(&format!(
                "later.json: warning: `{field}` is read but not yet enforced"
            )),
            "{stderr}"
        );
    }
    let (_, stdout, stderr) = w.run(&["validate", "echo"]);
    assert!(
        !stderr.contains("not yet enforced"),
        "only where present: {stdout}{stderr}"
    );
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
