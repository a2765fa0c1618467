//! A `{param}` inside code that some interpreter will run lets a value become code, however the
//! interpreter is reached (`nice`, `timeout`, `xargs`, `find -exec`, options before `-c`) and
//! whichever language it is (shells, awk, sed, php…): such a skill is refused as invalid and
//! never runs with the value spliced in.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use serde_json::json;

const PAYLOAD: &str = "$(echo INJECTED); system(\"echo INJECTED\"); \"; `echo INJECTED`";

#[test]
fn a_placeholder_in_inline_code_is_refused_behind_any_wrapper() {
    let cases: &[(&str, &[&str])] = &[
        ("nice", &["bash", "-c", "echo {x}"]),
        ("timeout", &["5", "sh", "-c", "echo {x}"]),
        (
            "/usr/bin/env",
            &["-i", "PATH=/usr/bin:/bin", "sh", "-c", "echo {x}"],
        ),
        ("xargs", &["-0", "sh", "-c", "echo {x}"]),
        (
            "find",
            &[".", "-maxdepth", "0", "-exec", "sh", "-c", "echo {x}", ";"],
        ),
        ("bash", &["-o", "errexit", "-c", "echo {x}"]),
        ("bash", &["-c", "-o", "pipefail", "echo {x}"]),
        ("awk", &["BEGIN { print \"{x}\" }"]),
        ("awk", &["-v", "n=1", "BEGIN { print \"{x}\" }"]),
        ("sed", &["-n", "s/a/{x}/p", "/dev/null"]),
        ("sed", &["-e", "s/a/{x}/"]),
        ("stdbuf", &["-oL", "python3", "-c", "print('{x}')"]),
        ("env", &["-S", "sh -c 'echo {x}'"]),
    ];
    let w = World::new();
    for (i, (command, args)) in cases.iter().enumerate() {
        let name = format!("inject-{i}");
        let path = w.skill(
            &name,
            json!({"name": name, "description": "d", "type": "code_inline",
                   "command": command, "args": args,
                   "parameters": {"x": {"type": "string"}}}),
        );
        let (code, out, err) = w.run(&["validate", path.to_str().unwrap()]);
        assert_eq!(code, 1, "{command} {args:?} was accepted: {out}{err}");
        assert!(
            format!("{out}{err}").contains("would let a value run as code"),
            "{command} {args:?}: {out}{err}"
        );
        let (code, out, err) = w.run(&["run", &name, "--param", &format!("x={PAYLOAD}")]);
        assert_ne!(code, 0, "{command} {args:?} ran: {out}{err}");
        assert!(!out.contains("INJECTED\n"), "{command} {args:?}: {out}");
    }
}

#[test]
fn values_passed_as_their_own_arguments_still_run() {
    let w = World::new();
    for (command, args) in [
        ("nice", vec!["sh", "-c", "echo \"$1\"", "sh", "{x}"]),
        ("awk", vec!["BEGIN { print ARGV[1] }", "{x}"]),
        ("awk", vec!["-f", "/dev/null", "{x}"]),
    ] {
        w.skill(
            "ok",
            json!({"name": "ok", "description": "d", "type": "code_inline",
                   "command": command, "args": args,
                   "parameters": {"x": {"type": "string"}}}),
        );
        let (code, out, err) = w.run(&["run", "ok", "--param", &format!("x={PAYLOAD}")]);
        assert_eq!(code, 0, "{command} {args:?}: {out}{err}");
        assert!(!out.contains("INJECTED\n"), "{out}");
    }
}
