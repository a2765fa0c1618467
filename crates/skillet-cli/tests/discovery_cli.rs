//! `skillet list`, `info` and `validate` over real directories.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use serde_json::json;

fn prompt(name: &str) -> serde_json::Value {
    json!({"name": name, "description": format!("{name} skill"), "type": "prompt_inline", "prompt_template": "hi"})
}

#[test]
fn list_shows_both_scopes_broken_skills_and_json() {
    let w = World::new();
    w.skill("alpha", json!({"name": "alpha", "description": "A", "type": "code_inline", "command": "true", "aliases": ["a"], "version": "1.2.3"}));
    w.write(
        "~/.config/skillet/skills/beta.json",
        &prompt("beta").to_string(),
    );
    w.write(
        ".skillet/skills/broken.json",
        "{\"name\": \"broken\", \"type\": \"code_inline\"",
    );
    let (code, stdout, _) = w.run(&["list"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[1].starts_with("alpha")
            && lines[1].contains("workspace")
            && lines[1].contains("1.2.3"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("beta") && lines[2].contains("global"),
        "{stdout}"
    );
    assert!(
        lines[3].starts_with("broken") && lines[3].contains("BROKEN: 1 error"),
        "{stdout}"
    );

    let (_, stdout, _) = w.run(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let alpha = &v[0];
    for key in [
        "name",
        "type",
        "scope",
        "path",
        "aliases",
        "description",
        "version",
        "valid",
        "errors",
    ] {
        assert!(alpha.get(key).is_some(), "missing {key}: {alpha}");
    }
    assert_eq!(
        (alpha["type"].as_str(), alpha["aliases"][0].as_str()),
        (Some("code_inline"), Some("a"))
    );
    assert_eq!(v[2]["valid"], false);
    assert!(
        v[2]["errors"][0]
            .as_str()
            .unwrap()
            .contains("broken.json:1:"),
        "{}",
        v[2]
    );
}

#[test]
fn list_order_is_deterministic() {
    let w = World::new();
    for name in ["zeta", "alpha", "mid", "beta"] {
        w.skill(name, prompt(name));
    }
    let first = w.run(&["list", "--json"]).1;
    for _ in 0..3 {
        assert_eq!(w.run(&["list", "--json"]).1, first);
    }
    let names: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&first)
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alpha", "beta", "mid", "zeta"]);
}

#[test]
fn info_names_the_winning_file_and_what_it_shadows() {
    let w = World::new();
    let mine = w.skill("tool", json!({"name": "tool", "description": "ws", "type": "code_inline", "command": "echo", "args": ["{x}"],
        "aliases": ["t"], "parameters": [{"name": "x", "type": "integer", "default": 3, "description": "a number"}]}));
    let theirs = w.write(
        "~/.config/skillet/skills/tool.json",
        &prompt("tool").to_string(),
    );
    let (code, stdout, stderr) = w.run(&["info", "t"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(".skillet/skills/tool.json (workspace, canonical format)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("shadows:     {}", theirs.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("command:     echo {x}") && stdout.contains("default 3"),
        "{stdout}"
    );
    let (_, stderr_list) = (w.run(&["list"]).1, w.run(&["list"]).2);
    assert!(
        stderr_list.contains(&theirs.display().to_string())
            && stderr_list.contains("tool.json (workspace) shadows"),
        "{stderr_list}"
    );
    let (_, stdout, _) = w.run(&["info", "tool", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["path"], mine.display().to_string());
    let policy = &v["effective"]["policy"];
    assert_eq!(policy["limits"]["timeout_s"], 30);
    assert_eq!(
        (policy["isolation"].as_str(), policy["network"].as_str()),
        (Some("required"), Some("none"))
    );
    assert_eq!(policy["limits"]["memory_mb"], 512);
}

#[test]
fn validate_reports_every_error_with_position_and_hint() {
    let w = World::new();
    let file = w.write(".skillet/skills/typo.json", "{\n  \"name\": \"typo\",\n  \"type\": \"prompt_inline\",\n  \"prompt_templte\": \"Hi {who}\",\n  \"parameters\": [{\"name\": \"who\", \"type\": \"strin\"}]\n}\n");
    w.skill("fine", prompt("fine"));
    let (code, stdout, stderr) = w.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(stderr.contains(".skillet/skills/typo.json:4:3: error: unknown field `prompt_templte`\n  hint: did you mean `prompt_template`?"), "{stderr}");
    assert!(
        stdout.contains("checked 2 skills: 1 valid, 1 invalid"),
        "{stdout}"
    );
    // The single file, and JSON output.
    let (code, stdout, _) = w.run(&["validate", file.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let messages: Vec<&str> = v[0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("unknown variant `strin`")),
        "{messages:?}"
    );
    assert_eq!(v[0]["diagnostics"][0]["position"]["line"], 4);
    let (code, _, _) = w.run(&[
        "validate",
        w.path(".skillet/skills/fine.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
}

#[test]
fn placeholders_in_inline_code_are_refused_with_the_env_hint() {
    let w = World::new();
    w.skill(
        "inject",
        json!({"name": "inject", "description": "d", "type": "code_inline", "command": "bash",
        "args": ["-c", "echo {msg}"], "parameters": [{"name": "msg", "type": "string"}]}),
    );
    let (code, _, stderr) = w.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("placeholder `{msg}` inside inline code")
            && stderr.contains("\"$SKILL_PARAM_MSG\""),
        "{stderr}"
    );
    let (code, r) = w.run_json(&["inject", "-p", "msg=x"]);
    assert_eq!((code, r["status"].as_str()), (125, Some("error")));
    assert!(r["error"].as_str().unwrap().contains("is broken"), "{r}");
}

#[test]
fn huge_and_deeply_nested_files_are_refused_quickly() {
    let w = World::new();
    w.write(
        ".skillet/skills/huge.json",
        &format!(
            "{{\"name\": \"huge\", \"pad\": \"{}\"}}",
            "x".repeat(10 * 1024 * 1024)
        ),
    );
    w.write(".skillet/skills/deep.json", &"[".repeat(1_000_000));
    w.skill("ok", prompt("ok"));
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = w.run(&["validate"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the limit for a skill file is 1048576 bytes")
            && stderr.contains("nested 1000000 levels deep; the limit is 64"),
        "{stderr}"
    );
    assert!(stdout.contains("1 valid, 2 invalid"), "{stdout}");
}

#[test]
fn validate_accepts_a_directory_and_reports_symlinks_leaving_it() {
    let w = World::new();
    let outside = w.write("elsewhere/far.json", &prompt("far").to_string());
    std::fs::create_dir_all(w.path("dir")).unwrap();
    std::os::unix::fs::symlink(&outside, w.path("dir/far.json")).unwrap();
    let (code, _, stderr) = w.run(&["validate", "dir"]);
    assert_eq!(code, 0);
    assert!(stderr.contains("follows a symlink out of"), "{stderr}");
}

#[test]
fn not_found_suggests_a_close_name() {
    let w = World::new();
    w.skill("count-lines", prompt("count-lines"));
    let (code, r) = w.run_json(&["count-line"]);
    assert_eq!((code, r["status"].as_str()), (127, Some("not_found")));
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("did you mean `count-lines`?"),
        "{r}"
    );
}

#[test]
fn prompt_skills_render_in_a_single_pass() {
    let w = World::new();
    w.skill("p", json!({"name": "p", "description": "d", "type": "prompt_inline", "prompt_template": "A={a} B={b} {{lit}}",
        "parameters": [{"name": "a", "type": "string"}, {"name": "b", "type": "number", "default": 1.5}]}));
    let (code, r) = w.run_json(&["p", "-p", "a={b}"]);
    assert_eq!((code, r["stdout"].as_str()), (0, Some("A={b} B=1.5 {lit}")));
}

#[test]
fn invalid_params_name_the_parameter_and_the_expectation() {
    let w = World::new();
    w.skill("typed", json!({"name": "typed", "description": "d", "type": "prompt_inline", "prompt_template": "{n} {c}",
        "parameters": [{"name": "n", "type": "integer", "required": true, "max": 10},
                       {"name": "c", "type": "enum", "values": ["red", "blue"]}]}));
    let (code, r) = w.run_json(&["typed", "-p", "n=abc", "-p", "c=green"]);
    assert_eq!(code, 2);
    let err = r["error"].as_str().unwrap();
    assert!(
        err.contains("parameter `n`: expected an integer, got \"abc\""),
        "{err}"
    );
    assert!(
        err.contains("parameter `c`: expected one of \"red\", \"blue\", got \"green\""),
        "{err}"
    );
    let (code, r) = w.run_json(&["typed"]);
    assert_eq!(
        (code, r["error"].as_str()),
        (2, Some("missing required parameter `n` (integer)"))
    );
    let (code, _, stderr) = w.run(&["run", "typed", "-p", "novalue"]);
    assert_eq!(code, 2, "a usage error");
    assert!(stderr.contains("write --param NAME=VALUE"), "{stderr}");
}

#[test]
fn running_a_session_skill_without_a_session_says_how_to_start_one() {
    let w = World::new();
    w.skill(
        "repl",
        json!({"name": "repl", "description": "d", "type": "code_session", "command": "python3"}),
    );
    let (code, r) = w.run_json(&["repl"]);
    assert_eq!(code, 125);
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("skillet session start repl"),
        "{r}"
    );
}

#[test]
fn schema_matches_the_committed_file() {
    let w = World::new();
    let (code, stdout, _) = w.run(&["schema"]);
    assert_eq!(code, 0);
    let committed =
        std::fs::read_to_string(common::examples_dir().join("../schema/skill.schema.json"))
            .unwrap();
    assert_eq!(
        stdout, committed,
        "schema/skill.schema.json is stale: run `SKILLET_BLESS=1 cargo test -p skillet-spec --lib schema`"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

#[test]
fn a_bad_config_file_is_reported_with_its_position() {
    let w = World::new();
    w.write("~/.config/skillet/skillet.toml", "[defaults]\ntimout = 3\n");
    let (code, _, stderr) = w.run(&["list"]);
    assert_eq!(code, 125);
    assert!(
        stderr.contains("skillet.toml") && stderr.contains("line 2") && stderr.contains("timout"),
        "{stderr}"
    );
    // A workspace file's unknown key is a warning with its line (cli_consistency has more).
    std::fs::remove_file(w.path("~/.config/skillet/skillet.toml")).unwrap();
    w.write(".skillet/skillet.toml", "[defaults]\ntimout = 3\n");
    let (code, _, stderr) = w.run(&["list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("skillet.toml:2:") && stderr.contains("timout"),
        "{stderr}"
    );
}

#[test]
fn trust_and_disable_change_what_agents_see_and_what_runs() {
    let w = World::new();
    w.skill(
        "hello",
        serde_json::json!({"name": "hello", "aliases": ["hi"], "type": "code_inline", "command": "true"}),
    );
    let availability = |w: &World| {
        let (_, out, _) = w.run(&["list", "--json"]);
        let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
        rows[0]["availability"].as_str().unwrap().to_owned()
    };
    assert_eq!(availability(&w), "untrusted");
    let (_, table, _) = w.run(&["list"]);
    assert!(
        table.contains("[untrusted]") && table.contains("skillet trust"),
        "{table}"
    );

    let (code, out, _) = w.run(&["trust"]);
    assert_eq!(code, 0);
    assert!(out.contains("now trusted"), "{out}");
    assert_eq!(availability(&w), "available");
    let (_, listed, _) = w.run(&["trust", "--list", "--json"]);
    assert!(
        listed.contains(w.ws.file_name().unwrap().to_str().unwrap()),
        "{listed}"
    );

    // An alias disables the skill it names; the run is refused, saying how to undo it.
    let (code, out, _) = w.run(&["disable", "hi"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("hello: disabled"), "{out}");
    assert_eq!(availability(&w), "disabled");
    let (code, _, err) = w.run(&["run", "hello"]);
    assert_eq!(code, 125);
    assert!(
        err.contains("`hello` is disabled; `skillet enable hello`"),
        "{err}"
    );
    let (code, _, err) = w.run(&["disable", "helo"]);
    assert_ne!(code, 0);
    assert!(err.contains("did you mean `hello`"), "{err}");

    w.run(&["enable", "hello"]);
    let (code, _, _) = w.run(&["run", "hello"]);
    assert_eq!(code, 0);
    w.run(&["trust", "--revoke"]);
    assert_eq!(availability(&w), "untrusted");
}
