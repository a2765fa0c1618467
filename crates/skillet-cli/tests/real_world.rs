//! Skill files of the shapes people already have (see `skillet-spec/tests/real_world/`), put
//! where skillet discovers them: what `list`, `validate`, `run` and `migrate` make of each.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::World;
use serde_json::Value;

fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../skillet-spec/tests/real_world")
        .join(rel)
}

fn place(w: &World, from: &str, to: &str) -> PathBuf {
    let target = w.path(to);
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    fs::copy(corpus(from), &target).unwrap();
    target
}

fn list(w: &World) -> Vec<Value> {
    let (_, stdout, stderr) = w.run(&["list", "--json"]);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"))
}

fn entry<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {list:?}"))
}

#[test]
fn q_cli_command_lines_are_split_or_refused_at_load_with_the_reason() {
    let w = World::new();
    place(&w, ".q-skills/host-info.json", ".q-skills/host-info.json");
    place(&w, ".q-skills/disk-free.json", ".q-skills/disk-free.json");
    place(&w, ".q-skills/say-hello.json", ".q-skills/say-hello.json");
    place(&w, ".q-skills/top-procs.json", ".q-skills/top-procs.json");
    let skills = list(&w);
    for name in ["host-info", "disk-free", "say-hello"] {
        assert_eq!(entry(&skills, name)["valid"], true, "{name}: {skills:?}");
    }
    assert_eq!(entry(&skills, "top-procs")["valid"], false);

    // `"command": "uname -a"` runs as `uname` with the argument `-a`.
    let (code, r) = w.run_json(&["host-info"]);
    assert_eq!(code, 0, "{r}");
    assert!(r["stdout"].as_str().unwrap().starts_with("Linux"), "{r}");
    // A quoted argument stays one word, its `!` untouched.
    let (code, r) = w.run_json(&["say-hello"]);
    assert_eq!(
        (code, r["stdout"].as_str()),
        (0, Some("Hello from a skill!\n")),
        "{r}"
    );

    let (code, _, stderr) = w.run(&["validate"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("disk-free.json:4:3: warning: version \"1.0\" is not a full semantic version; read as \"1.0.0\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("host-info.json:6:3: warning: `command` is a whole command line; run as program \"uname\" with arguments [\"-a\"]"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "top-procs.json:6:3: error: `command` is a shell command line and it has a pipe (`|`)"
        ) && stderr.contains("run `skillet migrate FILE --write`"),
        "the refusal names the reason and the way out: {stderr}"
    );
    // Refused before anything runs, with the same words.
    let (code, stdout, stderr) = w.run(&["run", "top-procs"]);
    assert_ne!(code, 0, "{stdout}");
    assert!(stderr.contains("it has a pipe"), "{stderr}");
}

#[test]
fn migrated_shell_lines_pass_values_as_arguments_never_as_code() {
    let w = World::new();
    place(&w, "skills/greet.json", ".q-skills/greet.json");
    place(&w, "skills/count-lines.json", ".q-skills/count-lines.json");
    w.write(
        ".q-skills/pair.json",
        r#"{"name": "pair", "description": "Two values, one optional",
            "parameters": [{"name": "a", "type": "string", "required": true},
                           {"name": "b", "type": "string"}],
            "implementation": {"type": "command", "command": "echo \"{{a}}\"-{{b:-none}}"}}"#,
    );
    let (code, _, stderr) = w.run(&["validate", ".q-skills/greet.json"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("greet.json:10:5: error: `implementation.command` is a shell command line and it splices parameters into the command line (`{{param}}`)"),
        "the error points at implementation.command: {stderr}"
    );
    for file in ["greet", "count-lines", "pair"] {
        let (code, stdout, stderr) =
            w.run(&["migrate", &format!(".q-skills/{file}.json"), "--write"]);
        assert_eq!(code, 0, "{file}: {stdout} {stderr}");
        assert!(stderr.contains("rewritten to run `sh -c`"), "{stderr}");
    }
    let greet: Value =
        serde_json::from_str(&fs::read_to_string(w.path(".q-skills/greet.json")).unwrap()).unwrap();
    assert_eq!(
        greet["args"],
        serde_json::json!(["-c", "echo 'Hello, '\"${1}\"'! Welcome.'", "sh", "{who}"])
    );

    // Values that would be code if spliced into the script come out as text.
    for value in [
        "$(echo INJECTED)",
        "`echo INJECTED`",
        "'; echo INJECTED; '",
        "x\"; echo INJECTED; \"",
        "${IFS}echo INJECTED",
    ] {
        let (code, r) = w.run_json(&["greet", "-p", &format!("who={value}")]);
        assert_eq!(code, 0, "{value}: {r}");
        assert_eq!(
            r["stdout"].as_str().unwrap(),
            format!("Hello, {value}! Welcome.\n"),
            "{value}"
        );
    }
    // A value with spaces is one argument.
    let file = w.write("notes with spaces.txt", "a\nb\nc\n");
    let (code, r) = w.run_json(&["count-lines", "-p", &format!("file={}", file.display())]);
    assert_eq!((code, r["stdout"].as_str()), (0, Some("3\n")), "{r}");
    // An optional value left out takes the script's default; given, it is used.
    let (code, r) = w.run_json(&["pair", "-p", "a=x y"]);
    assert_eq!((code, r["stdout"].as_str()), (0, Some("x y-none\n")), "{r}");
    let (code, r) = w.run_json(&["pair", "-p", "a=1", "-p", "b=$(id)"]);
    assert_eq!((code, r["stdout"].as_str()), (0, Some("1-$(id)\n")), "{r}");
}

#[test]
fn wizard_files_and_title_case_skill_md_load_under_their_own_names() {
    let w = World::new();
    place(
        &w,
        ".q-skills/rust-reviewer.json",
        ".q-skills/rust-reviewer.json",
    );
    place(
        &w,
        ".q-skills/letter-writer.json",
        ".q-skills/letter-writer.json",
    );
    place(
        &w,
        "agent-skills/pdf-tools/SKILL.md",
        ".claude/skills/pdf-tools/SKILL.md",
    );
    place(
        &w,
        "agent-skills/agent-development/SKILL.md",
        ".claude/skills/agent-development/SKILL.md",
    );
    let skills = list(&w);
    for (name, format) in [
        ("rust-reviewer", "Q CLI wizard"),
        ("letter-writer", "Q CLI wizard"),
        ("pdf-tools", "Agent Skills SKILL.md"),
        ("agent-development", "Agent Skills SKILL.md"),
    ] {
        let e = entry(&skills, name);
        assert_eq!(
            (e["valid"].as_bool(), e["format"].as_str()),
            (Some(true), Some(format)),
            "{e}"
        );
    }
    let (code, stdout, stderr) = w.run(&["validate", "--json"]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    let report: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let messages: Vec<&str> = report
        .iter()
        .flat_map(|c| c["diagnostics"].as_array().unwrap())
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.contains(&"name \"PDF Tools\" is not a skill id; the skill is `pdf-tools` (from its folder), titled \"PDF Tools\""),
        "{messages:#?}"
    );
    assert!(
        messages
            .contains(&"`version` is not an Agent Skills field; used as the skill's version 0.1.0"),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m
                .starts_with("the Q CLI wizard put this conversation skill's prompt in `command`")),
        "{messages:#?}"
    );
    assert!(
        !messages.iter().any(|m| m.contains("does not apply")),
        "no error about the wrong field: {messages:#?}"
    );
    let (code, r) = w.run_json(&[
        "letter-writer",
        "-p",
        "recipient=Ada",
        "-p",
        "topic=engines",
    ]);
    assert_eq!(
        (code, r["stdout"].as_str()),
        (0, Some("Write a short letter to Ada about engines.")),
        "{r}"
    );
    let (code, r) = w.run_json(&["pdf-tools"]);
    assert_eq!(code, 0, "{r}");
    assert!(
        r["stdout"]
            .as_str()
            .unwrap()
            .contains("`pdftotext {input} -`"),
        "{r}"
    );
}

#[test]
fn migrate_json_prints_one_object_with_the_canonical_skill_and_the_notes() {
    let w = World::new();
    place(&w, "skills/repo-status.json", "tools/repo-status.json");
    place(&w, "v1/remote/remote.json", "tools/remote.json");
    let (code, stdout, stderr) = w.run(&["migrate", "tools/repo-status.json", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "only JSON, on stdout: {stderr}");
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (&r["complete"], &r["written"], &r["format"]),
        (
            &Value::Bool(true),
            &Value::Bool(false),
            &Value::from("Q CLI implementation")
        )
    );
    assert_eq!(r["canonical"]["version"], "1.0.0");
    assert_eq!(r["canonical"]["command"], "sh");
    assert!(
        r["notes"].as_array().unwrap().iter().any(|n| n["message"]
            .as_str()
            .unwrap()
            .starts_with("version \"1.0\"")),
        "{r}"
    );
    let (code, stdout, _) = w.run(&["migrate", "tools/repo-status.json", "--json", "--write"]);
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((code, &r["written"]), (0, &Value::Bool(true)), "{r}");
    assert!(
        r["backup"]
            .as_str()
            .unwrap()
            .ends_with("repo-status.json.bak")
    );

    // A file migrate cannot finish: the repairs are shown, the rest is named, nothing written.
    let before = fs::read_to_string(w.path("tools/remote.json")).unwrap();
    let (code, stdout, stderr) = w.run(&["migrate", "tools/remote.json", "--json", "--write"]);
    assert_eq!(code, 1, "{stderr}");
    let r: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (&r["complete"], &r["written"]),
        (&Value::Bool(false), &Value::Bool(false))
    );
    assert!(
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["severity"] == "error"
                && n["message"] == "executor type \"mcp\" is not supported yet"),
        "{r}"
    );
    assert_eq!(
        fs::read_to_string(w.path("tools/remote.json")).unwrap(),
        before
    );
}

#[test]
fn v1_design_scripts_get_their_parameters_as_json_in_argv_1() {
    let w = World::new();
    let dir = w.path(".skillet/skills/calc");
    fs::create_dir_all(dir.join("scripts")).unwrap();
    fs::copy(corpus("v1/calc/calc.json"), dir.join("calc.json")).unwrap();
    fs::copy(
        corpus("v1/calc/scripts/calc.py"),
        dir.join("scripts/calc.py"),
    )
    .unwrap();
    let (code, r) = w.run_json(&["calc", "-p", "op=add", "-p", "a=2", "-p", "b=3.5"]);
    assert_eq!(
        (code, r["stdout"].as_str()),
        (0, Some("2 add 3.5 = 5.5\n")),
        "{r}"
    );

    // Inline code, with braces of its own that stay code; values arrive typed.
    w.write(
        ".skillet/skills/echo-params.json",
        r#"{"skill_type": "code_inline",
            "metadata": {"name": "echo-params", "description": "Print the parameters"},
            "executor": {"type": "inline", "language": "python",
                         "code": "import json, sys\nprint(f\"{len(sys.argv)}\", json.dumps(json.loads(sys.argv[1]), sort_keys=True))"},
            "parameters": {"n": {"type": "integer", "required": true}, "s": {"type": "string"}}}"#,
    );
    w.write(
        ".skillet/skills/echo-params-sh.json",
        r#"{"skill_type": "code_inline",
            "metadata": {"name": "echo-params-sh", "description": "Print the parameters"},
            "executor": {"type": "inline", "language": "sh", "code": "printf '%s\\n' \"$1\""},
            "parameters": {"s": {"type": "string"}}}"#,
    );
    let (code, r) = w.run_json(&["echo-params", "-p", "n=3", "-p", "s=a \"b\" $(c)"]);
    assert_eq!(
        (code, r["stdout"].as_str()),
        (0, Some("2 {\"n\": 3, \"s\": \"a \\\"b\\\" $(c)\"}\n")),
        "{r}"
    );
    let (code, r) = w.run_json(&["echo-params", "-p", "n=1"]);
    assert_eq!(
        (code, r["stdout"].as_str()),
        (0, Some("2 {\"n\": 1}\n")),
        "{r}"
    );
    let (code, r) = w.run_json(&["echo-params-sh", "-p", "s=x'; id; '"]);
    assert_eq!(
        (code, r["stdout"].as_str()),
        (0, Some("{\"s\":\"x'; id; '\"}\n")),
        "{r}"
    );
}

#[test]
fn skillet_mcp_says_which_skill_md_folders_the_skills_catalog_leaves_out() {
    let w = World::new();
    place(
        &w,
        "agent-skills/agent-development/SKILL.md",
        ".claude/skills/agent-development/SKILL.md",
    );
    place(
        &w,
        "agent-skills/pdf-tools/SKILL.md",
        ".claude/skills/pdf-tools/SKILL.md",
    );
    w.write(
        ".claude/skills/good-one/SKILL.md",
        "---\nname: good-one\ndescription: d\n---\nDo it.\n",
    );
    let (code, _, err) = w.run(&["trust"]);
    assert_eq!(code, 0, "{err}");
    // stdin closed: the server reads the skills, says what it hides, and stops at end of input.
    let out = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .arg("mcp")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    for folder in ["agent-development", "pdf-tools"] {
        assert!(
            err.contains(&format!(
                "skill://{folder}/SKILL.md is not published as a skill resource"
            )) && err.contains(&format!("write `name: {folder}`")),
            "{folder}: {err}"
        );
    }
    assert!(!err.contains("skill://good-one/"), "{err}");
}

#[test]
fn a_shadowed_skill_md_folder_is_not_listed_as_a_resource_beside_the_one_served() {
    let w = World::new();
    for (dir, said) in [
        (".claude/skills", "claude copy"),
        (".agents/skills", "agents copy"),
    ] {
        w.write(
            &format!("{dir}/dup/SKILL.md"),
            &format!("---\nname: dup\ndescription: {said}\n---\nBody of the {said}.\n"),
        );
    }
    // The lower folder publishes another skill, so its catalog is read too.
    for dir in [".claude/skills", ".agents/skills"] {
        let own = dir.trim_start_matches('.').replace("/skills", "");
        w.write(
            &format!("{dir}/only-{own}/SKILL.md"),
            &format!("---\nname: only-{own}\ndescription: d\n---\nBody.\n"),
        );
    }
    let (code, _, err) = w.run(&["trust"]);
    assert_eq!(code, 0, "{err}");
    let mut server = common::mcp_stdio::RawStdio::start(&w, &[]);
    server.send(&serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "resources/list"}));
    let listed = server.reply();
    let uris: Vec<&str> = listed["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .filter(|u| u.starts_with("skill://dup/"))
        .collect();
    assert_eq!(uris, ["skill://dup/SKILL.md"], "{listed}");
}
