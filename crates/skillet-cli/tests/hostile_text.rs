//! Text from a cloned repository, the history store or a client never reaches the terminal raw:
//! every command that prints it shows escape sequences, C1 controls and bidi overrides as
//! visible escapes, and cuts a huge value, while `--json` keeps it exact. One hostile file (a
//! field of 100,000 characters) takes no command down.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::fs;

use common::World;
use serde_json::{Value, json};
use skillet_store::{
    BreakerRecord, ExecutionRecord, SessionRecord, SessionStatus, SqliteStore, Store, TurnOutcome,
    TurnRecord, now_ms,
};

/// Every attack at once: a colour, a window title (OSC 0), a clipboard write (OSC 52), the
/// one-byte C1 CSI and a right-to-left override.
const H: &str = "\u{1b}[31mRED\u{1b}]0;title\u{7}\u{1b}]52;c;aGVsbG8=\u{7}\u{9b}2J\u{202e}txt.exe";

/// Asserts that `text` holds none of the raw characters a terminal acts on.
#[track_caller]
fn assert_inert(what: &str, text: &str) {
    for raw in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(
            !text.contains(raw),
            "{what} printed {raw:?} raw:\n{}",
            text.escape_debug()
        );
    }
}

/// Asserts that `text` shows the attack, escaped: the user can see something is there.
#[track_caller]
fn assert_shown_escaped(what: &str, text: &str) {
    // skillet's own escape, Rust's `{:?}` or JSON's, where a value is shown as JSON.
    assert!(
        [r"\x1b[31mRED", r"\u{1b}[31mRED", r"\u001b[31mRED"]
            .iter()
            .any(|shown| text.contains(shown)),
        "{what} does not show the escape sequence:\n{text}"
    );
    assert!(
        text.contains(r"\u{202e}"),
        "{what} does not show the bidi override:\n{text}"
    );
}

/// Runs `args` and checks both streams: nothing raw anywhere, the attack visible in one.
#[track_caller]
fn check(w: &World, args: &[&str]) -> (i32, String, String) {
    check_with(w, args, &[])
}

/// [`check`], with more environment variables.
#[track_caller]
fn check_with(w: &World, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = w
        .skillet()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    let what = format!("skillet {}", args.join(" ").escape_debug());
    assert!(
        !out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b),
        "{what} wrote a raw ESC byte"
    );
    assert_inert(&format!("{what} (stdout)"), &stdout);
    assert_inert(&format!("{what} (stderr)"), &stderr);
    assert_shown_escaped(&what, &format!("{stdout}\n{stderr}"));
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(code, 101, "{what} panicked:\n{stderr}");
    (code, stdout, stderr)
}

/// Runs `args` with `--json` and returns the one JSON document on stdout.
#[track_caller]
fn json_of(w: &World, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, stdout, stderr) = w.run(&all);
    assert_ne!(code, 101, "{all:?} panicked:\n{stderr}");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{all:?} is not JSON ({e}): {stdout}\nstderr: {stderr}"))
}

/// A workspace whose skills carry the attack in every field that can hold it.
fn hostile_world() -> World {
    let w = World::new();
    w.skill(
        "evil",
        json!({
            "name": "evil",
            "description": format!("Counts {H} lines"),
            "type": "code_inline",
            "command": "echo",
            "args": ["{level}", H],
            "env": {"NOTE": H},
            "parameters": [
                {"name": "level", "type": "enum", "values": [format!("low{H}"), "high"],
                 "default": "high", "description": format!("how loud {H}")},
                {"name": "text", "type": "string", "default": H, "description": H},
            ],
        }),
    );
    w.skill(
        "evil-prompt",
        json!({
            "name": "evil-prompt",
            "description": H,
            "type": "prompt_inline",
            "prompt_template": format!("Say {H} to {{who}}"),
            "parameters": [{"name": "who", "type": "string", "default": H, "description": H}],
        }),
    );
    // Broken on purpose, in its name and in a field of its own invention: `list` shows the row,
    // `validate` quotes both.
    w.write(
        &format!(".skillet/skills/bad{H}.json"),
        &serde_json::to_string(&json!({
            "name": format!("bad{H}"),
            "description": H,
            "type": "prompt_inline",
            "prompt_template": "x",
            H: 1,
        }))
        .unwrap(),
    );
    w
}

/// The history store, written as any process of the user's (or a skill granted the data
/// directory) could write it.
fn store(w: &World) -> SqliteStore {
    let dir = w.home.join(".local/share/skillet");
    fs::create_dir_all(&dir).unwrap();
    SqliteStore::open(&dir.join("skillet.db")).unwrap()
}

#[test]
fn list_shows_every_field_escaped_and_json_exact() {
    let w = hostile_world();
    let (code, stdout, _) = check(&w, &["list"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("evil-prompt"), "{stdout}");
    assert!(stdout.contains("BROKEN"), "{stdout}");

    let list = json_of(&w, &["list"]);
    let evil = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "evil")
        .unwrap();
    assert_eq!(evil["description"], format!("Counts {H} lines"));
    assert!(
        list.as_array().unwrap().iter().any(|s| s["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("bad{H}.json"))),
        "{list}"
    );
}

#[test]
fn info_shows_every_field_escaped_and_json_exact() {
    let w = hostile_world();
    let (code, stdout, _) = check(&w, &["info", "evil"]);
    assert_eq!(code, 0);
    // Each field, not only the first: the description, the parameters' enum values and
    // description, the command line.
    for line in ["description:", "command:"] {
        let shown = stdout.lines().find(|l| l.starts_with(line)).unwrap();
        assert_shown_escaped(line, shown);
    }
    let level = stdout.lines().find(|l| l.starts_with("  level")).unwrap();
    assert!(level.contains(r"enum(low\x1b[31mRED"), "{level}");
    assert!(level.contains(r"how loud \x1b[31mRED"), "{level}");
    let text = stdout.lines().find(|l| l.starts_with("  text")).unwrap();
    assert_shown_escaped("the default", text);

    let (code, stdout, _) = check(&w, &["info", "evil-prompt"]);
    assert_eq!(code, 0);
    let prompt = stdout.lines().find(|l| l.starts_with("prompt:")).unwrap();
    assert_shown_escaped("prompt", prompt);

    let info = json_of(&w, &["info", "evil"]);
    assert_eq!(info["spec"]["description"], format!("Counts {H} lines"));
    assert_eq!(
        info["spec"]["parameters"][0]["values"][0],
        format!("low{H}")
    );
    assert_eq!(info["spec"]["parameters"][1]["default"], H);
    assert_eq!(info["spec"]["args"][1], H);
}

#[test]
fn validate_quotes_skill_text_escaped_and_json_exact() {
    let w = hostile_world();
    let (code, _, stderr) = check(&w, &["validate"]);
    assert_eq!(code, 1, "the broken file makes validate fail");
    assert!(stderr.contains("error"), "{stderr}");

    let checked = json_of(&w, &["validate"]);
    let all = checked.to_string();
    let bad = checked
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["path"]
                .as_str()
                .unwrap()
                .ends_with(&format!("bad{H}.json"))
        })
        .unwrap_or_else(|| panic!("no entry for the hostile file: {all}"));
    assert_eq!(bad["valid"], false);
}

#[test]
fn history_rows_from_the_store_are_escaped_and_json_exact() {
    let w = hostile_world();
    let store = store(&w);
    let mut record = ExecutionRecord::new(format!("0199-id{H}"), format!("skill{H}"), H);
    record.started_at_ms = now_ms() - 5_000;
    record.finished_at_ms = now_ms();
    record.error = Some(format!("it failed: {H}"));
    record.params = Some(format!("{{\"p\": \"{H}\"}}"));
    record.origin = Some(H.to_owned());
    record.version = Some(H.to_owned());
    store.record(&record).unwrap();

    let (code, stdout, _) = check(&w, &["history"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(r"skill\x1b[31mRED"), "{stdout}");
    let (code, stdout, _) = check(&w, &["history", "show", "0199-id"]);
    assert_eq!(code, 0);
    let error = stdout.lines().find(|l| l.starts_with("error:")).unwrap();
    assert_shown_escaped("history show error", error);

    let rows = json_of(&w, &["history"]);
    assert_eq!(rows[0]["skill"], format!("skill{H}"));
    assert_eq!(rows[0]["error"], format!("it failed: {H}"));
    let shown = json_of(&w, &["history", "show", "0199-id"]);
    assert_eq!(shown["status"], H);
}

#[test]
fn breaker_rows_from_the_store_are_escaped() {
    let w = hostile_world();
    let store = store(&w);
    let skill = format!("skill{H}");
    store
        .update_breaker(&skill, &mut |_| {
            Some(BreakerRecord {
                skill: skill.clone(),
                state: H.to_owned(),
                consecutive_failures: 3,
                opened_at_ms: Some(now_ms()),
                updated_at_ms: now_ms(),
                trial_started_ms: None,
                recent: "111".into(),
            })
        })
        .unwrap();
    let (code, _, _) = check(&w, &["breaker"]);
    assert_eq!(code, 0);
    let rows = json_of(&w, &["breaker"]);
    assert_eq!(rows[0]["skill"], skill);
}

#[test]
fn session_list_and_logs_show_stored_text_escaped() {
    let w = hostile_world();
    let store = store(&w);
    let id = "0199-session";
    store
        .save_session(&SessionRecord {
            id: id.into(),
            skill: format!("skill{H}"),
            label: Some(H.into()),
            status: SessionStatus::Unknown(H.into()),
            start: "{}".into(),
            replay: false,
            pid: None,
            created_at_ms: now_ms() - 10_000,
            last_used_at_ms: now_ms(),
            ended_at_ms: Some(now_ms()),
            exit_code: Some(1),
            reason: Some(H.into()),
            turns: 1,
        })
        .unwrap();
    store
        .add_turn(&TurnRecord {
            session_id: id.into(),
            seq: 1,
            source: H.into(),
            input: format!("print({H})"),
            stdout: format!("out {H}\nline two\n"),
            stderr: format!("err {H}"),
            exit_status: None,
            outcome: TurnOutcome::Ok,
            started_at_ms: now_ms() - 5_000,
            duration_ms: 3,
            truncated: false,
        })
        .unwrap();
    let (code, stdout, _) = check(&w, &["session", "list"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(r"skill\x1b[31mRED"), "{stdout}");
    // The skill's output, stored: escaped, its lines kept.
    let (code, stdout, _) = check(&w, &["session", "logs", id]);
    assert_eq!(code, 0);
    assert!(stdout.contains("\nline two\n"), "{stdout}");
    assert!(stdout.contains(r"out \x1b[31mRED"), "{stdout}");

    let logs = json_of(&w, &["session", "logs", id]);
    assert_eq!(logs["turns"][0]["stdout"], format!("out {H}\nline two\n"));
}

#[test]
fn a_models_answer_and_a_conversations_prompt_are_shown_escaped() {
    use common::llm::{KEY, Llm, openai_answer};
    use wiremock::Mock;
    use wiremock::matchers::{method, path};

    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    // The escape sequence split across two chunks of the stream, as a model may send it.
    llm.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(openai_answer(&["Hi \u{1b}", &H[1..]])),
    );
    w.skill(
        "chat",
        json!({"name": "chat", "type": "conversation", "description": H,
               "prompt_template": format!("Talk about {H}"),
               "guided_questions": [format!("Why {H}?")]}),
    );
    let env = [("TEST_LLM_KEY", KEY)];
    let (code, _, _) = check_with(&w, &["run", "chat", "--dry-run"], &env);
    assert_eq!(code, 0);
    let (code, stdout, stderr) = check_with(&w, &["run", "chat"], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(r"Hi \x1b[31mRED"), "{stdout}");

    let out = w
        .skillet()
        .args(["run", "chat", "--json"])
        .env("TEST_LLM_KEY", KEY)
        .output()
        .unwrap();
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["last_answer"], format!("Hi {H}"), "{outcome}");
}

#[test]
fn run_errors_quote_skill_text_escaped() {
    let w = hostile_world();
    // A value outside the enum: the error lists the allowed values, one of them hostile.
    let (code, _, stderr) = check(&w, &["run", "evil", "--param", "level=loud"]);
    assert_eq!(code, 2, "{stderr}");
    // A name that is no skill: the error quotes what was asked and what is close.
    let (code, _, _) = check(&w, &["run", &format!("evil{H}")]);
    assert_eq!(code, 127);
    let (code, _, _) = check(&w, &["info", &format!("evil{H}")]);
    assert_eq!(code, 127);

    let result = json_of(&w, &["run", "evil", "--param", "level=loud"]);
    assert_eq!(result["status"], "invalid_params", "{result}");
}

#[test]
fn migrate_shows_the_diff_and_notes_escaped_and_json_exact() {
    let w = World::new();
    // The Q CLI roadmap format: `prompt`, untyped parameters.
    w.write(
        ".q-skills/old.json",
        &serde_json::to_string_pretty(&json!({
            "name": "old",
            "description": H,
            "prompt": format!("Explain {{error}} {H}"),
            "parameters": [{"name": "error", "description": H, "required": true}],
        }))
        .unwrap(),
    );
    let (code, stdout, _) = check(&w, &["migrate", ".q-skills/old.json"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("+++ b/"), "a diff: {stdout}");

    let report = json_of(&w, &["migrate", ".q-skills/old.json"]);
    assert_eq!(report["canonical"]["description"], H, "{report}");
}

#[test]
fn trust_shows_a_hostile_folder_name_escaped_and_json_exact() {
    let w = World::new();
    let repo = w.ws.join(format!("repo{H}"));
    fs::create_dir_all(repo.join(".git")).unwrap();
    let dir = repo.to_str().unwrap();
    let (code, _, _) = check(&w, &["trust", dir]);
    assert_eq!(code, 0);
    let (code, _, _) = check(&w, &["trust", "--list"]);
    assert_eq!(code, 0);
    let listed = json_of(&w, &["trust", "--list"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().ends_with(&format!("repo{H}"))),
        "{listed}"
    );
}

#[test]
fn verbose_logs_escape_field_values() {
    // The working directory is a `%`-formatted field of a debug event: tracing-subscriber
    // escapes the message only. `history` in an empty world prints nothing of it otherwise,
    // so only the log can show it.
    let w = World::new();
    let dir = w.ws.join(format!("sub{H}"));
    fs::create_dir_all(&dir).unwrap();
    let (code, stdout, stderr) = check(&w, &["-v", "-C", dir.to_str().unwrap(), "history"]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("sub"), "{stdout}");
    let logged = stderr
        .lines()
        .find(|l| l.contains("configuration read"))
        .unwrap_or_else(|| panic!("logs are on: {stderr}"));
    assert_shown_escaped("the log line", logged);
    // The asked-for skill's name, in the "run finished" event.
    let (_, _, stderr) = check(&w, &["-v", "run", &format!("evil{H}")]);
    assert!(stderr.contains("run finished"), "logs are on: {stderr}");
}

#[test]
fn a_field_of_100000_characters_breaks_no_command() {
    let w = World::new();
    let long = "y".repeat(100_000);
    // Broken (its name is no name), valid but for its length, and a good skill beside them.
    w.skill(
        "long-name",
        json!({"name": long, "description": long, "type": "prompt_inline", "prompt_template": "x"}),
    );
    w.skill(
        "long-fields",
        json!({"name": "long-fields", "description": long, "type": "prompt_inline",
               "prompt_template": long,
               "parameters": [{"name": "p", "type": "string", "description": long, "default": long}]}),
    );
    w.skill(
        "good",
        json!({"name": "good", "description": "Still here", "type": "prompt_inline",
               "prompt_template": "hello"}),
    );
    let mut record = ExecutionRecord::new("0199-long", long.clone(), "failed");
    record.error = Some(long.clone());
    store(&w).record(&record).unwrap();

    for args in [
        &["list"][..],
        &["info", "good"],
        &["info", "long-fields"],
        &["validate"],
        &["history"],
        &["history", "show", "0199-long"],
    ] {
        let (code, stdout, stderr) = w.run(args);
        assert!(
            code == 0 || (code == 1 && args == ["validate"]),
            "skillet {args:?} exited {code}:\n{}",
            &stderr[..stderr.len().min(2000)]
        );
        // Cut, and saying by how much: no line as long as the field.
        let longest = stdout.lines().chain(stderr.lines()).map(str::len).max();
        assert!(
            longest.unwrap_or(0) < 5_000,
            "skillet {args:?} printed a line of {longest:?} bytes"
        );
        // The skill files are refused for their length before anything shows them; the
        // store's rows are not, and are cut.
        if args[0] == "history" {
            assert!(
                format!("{stdout}{stderr}").contains("…(100000 chars)"),
                "skillet {args:?} does not say the value was cut:\n{}",
                &stdout[..stdout.len().min(2000)]
            );
        }
    }
    let (_, stdout, _) = w.run(&["list"]);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("good") && l.contains("Still here")),
        "{stdout}"
    );
    let (_, stdout, _) = w.run(&["info", "good"]);
    assert!(stdout.contains("Still here"), "{stdout}");
    // JSON is exact, however long.
    let rows = json_of(&w, &["history"]);
    assert_eq!(rows[0]["skill"], long);
    assert_eq!(rows[0]["error"], long);
}
