//! Parameter values on the command line: the kernel's size limit, values from a file or stdin,
//! and a program that cannot start is reported once, not retried.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use common::consistency::{json_of, world};
use serde_json::{Value, json};

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
fn a_parameter_written_as_a_bare_word_is_told_to_use_param() {
    let w = world();
    for command in [vec!["run", "echo"], vec!["session", "start", "echo"]] {
        let mut args = command.clone();
        args.push("word=hello");
        let (code, out, err) = w.run(&args);
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(
            err.contains("unexpected argument `word=hello`")
                && err.contains(&format!(
                    "`skillet {} NAME --param word=hello`",
                    command[..command.len() - 1].join(" ")
                )),
            "{args:?}: {err}"
        );
    }
    // Any other stray word keeps clap's own message.
    let (code, _, err) = w.run(&["run", "echo", "stray"]);
    assert_eq!(code, 2);
    assert!(err.contains("unexpected argument 'stray'"), "{err}");
}
