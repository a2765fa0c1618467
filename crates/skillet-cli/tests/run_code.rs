//! `skillet run` on code_inline skills: real processes, real exit codes, hostile values.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, Instant};

use common::World;
use serde_json::json;

fn echo_skill(w: &World, extra_param: serde_json::Value) {
    let mut p = json!({"name": "v", "type": "string", "required": true});
    if let Some(obj) = extra_param.as_object() {
        p.as_object_mut().unwrap().extend(obj.clone());
    }
    w.skill(
        "echo",
        json!({"name": "echo", "description": "d", "type": "code_inline",
        "command": "printf", "args": ["[%s]\\n", "{v}", "x={v}"], "parameters": [p]}),
    );
}

#[test]
fn json_result_has_the_documented_fields() {
    let w = World::new();
    w.skill("hi", json!({"name": "hi", "description": "d", "type": "code_inline", "command": "echo", "args": ["hello"]}));
    let (code, r) = w.run_json(&["hi"]);
    assert_eq!(code, 0);
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    let documented = [
        "execution_id",
        "skill",
        "status",
        "exit_code",
        "stdout",
        "stderr",
        "duration_ms",
        "truncated",
    ];
    assert_eq!(
        keys[..documented.len()],
        documented,
        "documented fields first, in order: {keys:?}"
    );
    assert_eq!(
        (
            r["status"].as_str(),
            r["stdout"].as_str(),
            r["exit_code"].as_i64()
        ),
        (Some("ok"), Some("hello\n"), Some(0))
    );
    assert_eq!(
        r["execution_id"].as_str().unwrap().chars().nth(14),
        Some('7'),
        "a UUIDv7"
    );
}

#[test]
fn exit_codes_and_stderr_are_preserved() {
    let w = World::new();
    w.skill("fail", json!({"name": "fail", "description": "d", "type": "code_inline", "command": "sh", "args": ["-c", "echo out; echo err >&2; exit 3"]}));
    let (code, stdout, stderr) = w.run(&["run", "fail"]);
    assert_eq!((code, stdout.as_str()), (3, "out\n"));
    assert!(stderr.contains("err"), "{stderr}");
    let (code, r) = w.run_json(&["fail"]);
    assert_eq!(
        (
            code,
            r["status"].as_str(),
            r["exit_code"].as_i64(),
            r["stderr"].as_str()
        ),
        (3, Some("failed"), Some(3), Some("err\n"))
    );
}

#[test]
fn hostile_values_reach_the_program_verbatim_and_run_nothing() {
    let w = World::new();
    echo_skill(&w, json!({}));
    let canary = w.path("canary");
    for hostile in [
        format!("; touch {}", canary.display()),
        format!("$(touch {})", canary.display()),
        format!("`touch {}`", canary.display()),
        format!("a\ntouch {}", canary.display()),
        "{v}{{v}}".to_owned(),
        "' \" \\ *".to_owned(),
    ] {
        let (code, r) = w.run_json(&["echo", "--params", &json!({"v": hostile}).to_string()]);
        assert_eq!(code, 0, "{r}");
        assert_eq!(
            r["stdout"].as_str().unwrap(),
            format!("[{hostile}]\n[x={hostile}]\n")
        );
    }
    assert!(!canary.exists(), "a value was executed");
}

#[test]
fn a_value_cannot_become_an_option() {
    let w = World::new();
    echo_skill(&w, json!({}));
    let (code, r) = w.run_json(&["echo", "--param", "v=--version"]);
    assert_eq!((code, r["status"].as_str()), (2, Some("invalid_params")));
    assert!(
        r["error"].as_str().unwrap().contains("starts with `-`"),
        "{r}"
    );
    echo_skill(&w, json!({"allow_flag_like": true}));
    let (code, r) = w.run_json(&["echo", "--param", "v=--version"]);
    assert_eq!(
        (code, r["stdout"].as_str()),
        (0, Some("[--version]\n[x=--version]\n"))
    );
}

#[test]
fn parameters_are_exported_as_environment_variables() {
    let w = World::new();
    w.skill("env", json!({"name": "env", "description": "d", "type": "code_inline", "command": "sh",
        "args": ["-c", "printf '%s|%s|%s' \"$SKILL_PARAM_N\" \"$SKILL_PARAM_FLAG\" \"$SKILL_PARAM_RATIO\""],
        "parameters": [{"name": "n", "type": "integer"}, {"name": "flag", "type": "boolean", "default": false},
                       {"name": "ratio", "type": "number"}]}));
    let (_, r) = w.run_json(&["env", "--params", r#"{"n": 42, "ratio": 0.5}"#]);
    assert_eq!(r["stdout"], "42|false|0.5");
    let (_, r) = w.run_json(&["env", "-p", "n=7", "-p", "flag=true", "-p", "ratio=2"]);
    assert_eq!(r["stdout"], "7|true|2");
}

#[test]
fn secrets_in_skillets_environment_do_not_reach_the_skill() {
    let w = World::new();
    w.skill(
        "env",
        json!({"name": "env", "description": "d", "type": "code_inline", "command": "env",
        "security": {"permissions": {"env_passthrough": ["MY_SETTING", "GITHUB_TOKEN"]}}}),
    );
    let out = w
        .skillet()
        .args(["run", "env", "--json"])
        .env("GITHUB_TOKEN", "ghp_secret1")
        .env("AWS_SECRET_ACCESS_KEY", "secret2")
        .env("MY_SETTING", "visible")
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stdout = r["stdout"].as_str().unwrap();
    assert!(
        !stdout.contains("secret1") && !stdout.contains("secret2"),
        "{stdout}"
    );
    assert!(stdout.contains("MY_SETTING=visible"), "{stdout}");
    assert!(
        r["warnings"]
            .to_string()
            .contains("not passing GITHUB_TOKEN"),
        "{r}"
    );
}

#[test]
fn timeout_kills_the_skill_and_its_grandchildren() {
    let w = World::new();
    let out = w.path("out");
    std::fs::create_dir_all(&out).unwrap();
    let beat = out.join("heartbeat");
    // A daemonized grandchild that keeps writing a heartbeat into a granted directory.
    w.skill("hang", json!({"name": "hang", "description": "d", "type": "code_inline", "command": "sh", "timeout": 1,
        "args": ["-c", "setsid sh -c 'while true; do date +%s%N > \"$0\"; sleep 0.05; done' \"$SKILL_PARAM_BEAT\" & sleep 300"],
        "parameters": [{"name": "beat", "type": "path", "required": true}]}));
    let started = Instant::now();
    let (code, r) = w.run_json(&[
        "hang",
        "--param",
        &format!("beat={}", beat.display()),
        "--allow-write",
        "out",
    ]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        (code, r["status"].as_str(), r["exit_code"].is_null()),
        (124, Some("timeout"), true),
        "{r}"
    );
    std::thread::sleep(Duration::from_millis(200));
    let before = std::fs::read_to_string(&beat).expect("the grandchild ran");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        std::fs::read_to_string(&beat).unwrap(),
        before,
        "the grandchild survived the timeout"
    );
}

#[test]
fn writes_need_a_grant() {
    let w = World::new();
    std::fs::create_dir_all(w.path("out")).unwrap();
    w.skill("writer", json!({"name": "writer", "description": "d", "type": "code_inline", "command": "sh",
        "args": ["-c", "echo data > \"$SKILLET_WORKSPACE/out/file\""], "security": {"permissions": {"file_write": ["out"]}}}));
    let (code, r) = w.run_json(&["writer"]);
    assert_eq!(code, 2, "{r}");
    assert!(!w.path("out/file").exists());
    assert!(
        r["warnings"]
            .to_string()
            .contains("asks to write out: not granted"),
        "{r}"
    );
    let (code, r) = w.run_json(&["writer", "--allow-write", "out"]);
    assert_eq!(
        (code, r["warnings"].as_array().map(Vec::len)),
        (0, None),
        "{r}"
    );
    assert_eq!(
        std::fs::read_to_string(w.path("out/file")).unwrap(),
        "data\n"
    );
}

#[test]
fn grants_in_the_global_config_apply_and_workspace_ones_do_not() {
    let w = World::new();
    std::fs::create_dir_all(w.path("out")).unwrap();
    w.skill("writer", json!({"name": "writer", "description": "d", "type": "code_inline", "command": "sh", "args": ["-c", "echo data > \"$SKILLET_WORKSPACE/out/file\""]}));
    w.write(
        ".skillet/skillet.toml",
        "[grants.writer]\nwrite = [\"out\"]\n",
    );
    let (code, _, stderr) = w.run(&["run", "writer"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains(
            "[sandbox], [grants], [history], [store], [cache], [daemon], [jobs], [trust], [mcp], [llm], [telemetry] and [[alerts]] are ignored in a workspace configuration"
        ),
        "{stderr}"
    );
    std::fs::remove_file(w.path(".skillet/skillet.toml")).unwrap();
    w.write(
        "~/.config/skillet/skillet.toml",
        &w.grant_toml("writer", "write = [\"out\"]\n"),
    );
    let (code, _, stderr) = w.run(&["run", "writer"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(w.path("out/file").exists());
}

#[test]
fn a_skill_cannot_rewrite_the_workspace_skills_or_git_hooks_even_with_write_granted() {
    let w = World::new();
    std::fs::create_dir_all(w.path(".git/hooks")).unwrap();
    w.skill("tamper", json!({"name": "tamper", "description": "d", "type": "code_inline", "command": "sh",
        "args": ["-c", "cd \"$SKILLET_WORKSPACE\"; echo evil > .git/hooks/pre-commit; echo '{}' > .skillet/skills/tamper.json; echo ok > sub/fine"]}));
    // New files go below the top: it holds protected names and takes no new entries.
    std::fs::create_dir_all(w.path("sub")).unwrap();
    let before = std::fs::read_to_string(w.path(".skillet/skills/tamper.json")).unwrap();
    let (_, r) = w.run_json(&["tamper", "--allow-write", "."]);
    assert!(!w.path(".git/hooks/pre-commit").exists(), "{r}");
    assert_eq!(
        std::fs::read_to_string(w.path(".skillet/skills/tamper.json")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_to_string(w.path("sub/fine")).unwrap(),
        "ok\n",
        "the rest of the workspace was writable: {r}"
    );
}

#[test]
fn doctor_lists_every_layer() {
    let w = World::new();
    let (code, stdout, _) = w.run(&["doctor", "--json"]);
    assert_eq!(code, 0);
    let layers: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = layers
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    for want in [
        "process hygiene",
        "landlock",
        "seccomp",
        "namespaces",
        "cgroups",
        "rlimits",
        "disk I/O limit",
    ] {
        assert!(names.contains(&want), "{names:?}");
    }
    assert!(
        layers
            .iter()
            .all(|l| ["active", "unavailable"].contains(&l["state"].as_str().unwrap()))
    );
}

#[test]
fn configured_default_timeout_applies() {
    let w = World::new();
    w.write(".skillet/skillet.toml", "[defaults]\ntimeout = 1\n");
    w.skill("slow", json!({"name": "slow", "description": "d", "type": "code_inline", "command": "sleep", "args": ["30"]}));
    let (code, r) = w.run_json(&["slow"]);
    assert_eq!((code, r["status"].as_str()), (124, Some("timeout")));
}

#[test]
fn output_is_capped_and_flagged() {
    let w = World::new();
    w.skill("flood", json!({"name": "flood", "description": "d", "type": "code_inline", "command": "head", "args": ["-c", "10000000", "/dev/zero"],
        "security": {"resource_limits": {"max_output_kb": 4}}}));
    let (code, r) = w.run_json(&["flood"]);
    assert_eq!(
        (code, r["status"].as_str(), r["limit"].as_str()),
        (137, Some("resource_limit"), Some("output")),
        "{r}"
    );
    assert_eq!(
        (
            r["truncated"].as_bool(),
            r["stdout"].as_str().unwrap().len()
        ),
        (Some(true), 4096)
    );
    let (_, _, stderr) = w.run(&["run", "flood"]);
    assert!(stderr.contains("output was cut"), "{stderr}");
}

#[test]
fn stdin_comes_from_the_flag_or_a_pipe() {
    let w = World::new();
    w.skill(
        "cat",
        json!({"name": "cat", "description": "d", "type": "code_inline", "command": "cat"}),
    );
    let (_, r) = w.run_json(&["cat", "--stdin", "given"]);
    assert_eq!(r["stdout"], "given");
    let out = w
        .skillet()
        .args(["run", "cat"])
        .write_stdin("piped\n")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped\n");
}

#[test]
fn working_dir_and_paths_are_relative_to_the_caller() {
    let w = World::new();
    w.write(
        ".skillet/skills/where/skill.json",
        &json!({"name": "where", "description": "d", "type": "code_inline",
        "command": "sh", "args": ["-c", "pwd; echo \"$1\"", "sh", "{file}"], "working_dir": "sub",
        "parameters": [{"name": "file", "type": "path", "required": true}]})
        .to_string(),
    );
    std::fs::create_dir_all(w.path("src/sub")).unwrap();
    let out = w
        .skillet()
        .current_dir(w.path("src"))
        .args(["run", "where", "-p", "file=main.rs", "--json"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines: Vec<&str> = r["stdout"].as_str().unwrap().lines().collect();
    assert!(lines[0].ends_with("/src/sub"), "{lines:?}");
    assert_eq!(lines[1], w.path("src/main.rs").display().to_string());
}

#[test]
fn a_missing_program_is_a_clear_error() {
    let w = World::new();
    w.skill("ghost", json!({"name": "ghost", "description": "d", "type": "code_inline", "command": "no-such-program-skillet"}));
    let (code, r) = w.run_json(&["ghost"]);
    assert_eq!((code, r["status"].as_str()), (125, Some("spawn_failed")));
    assert_eq!(
        r["error"],
        "program \"no-such-program-skillet\" not found on PATH"
    );
}

#[test]
fn dry_run_shows_the_exact_argv_and_runs_nothing() {
    let w = World::new();
    echo_skill(&w, json!({}));
    let (code, stdout, _) = w.run(&["run", "echo", "-p", "v=a b;c", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("argv[2]: \"a b;c\"") && stdout.contains("argv[3]: \"x=a b;c\""),
        "{stdout}"
    );
}

#[test]
fn dry_run_shows_a_variable_the_skill_sets_once_with_its_value() {
    let w = World::new();
    w.skill(
        "locale",
        json!({"name": "locale", "description": "d", "type": "code_inline", "command": "true",
               "env": {"LC_ALL": "C"}}),
    );
    // LC_ALL is also passed through from the caller by default; unset here, and set by the skill.
    let out = w
        .skillet()
        .env_remove("LC_ALL")
        .args(["run", "locale", "--dry-run"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("env:     LC_ALL=\"C\""), "{stdout}");
    let unset = stdout
        .lines()
        .find(|l| l.contains("not set in your environment"))
        .unwrap_or_default();
    assert!(!unset.contains("LC_ALL"), "{stdout}");
}
