//! One consistent command line: `--json` everywhere (errors included) with the documented exit
//! codes, clear usage errors with hints, and lenient workspace configuration.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use common::consistency::{assert_error, json_of, world};
use serde_json::json;

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
        (&["install", "nope", "--json"], 127),
        (&["install", "nope@somewhere", "--json"], 127),
        (&["uninstall", "nope", "--json"], 127),
        (&["update", "nope", "--json"], 127),
        (&["marketplace", "remove", "nope", "--json"], 127),
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
