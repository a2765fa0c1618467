//! Conversation skills end to end: `skillet run` and `skillet session resume` against a local
//! server speaking the OpenAI and Anthropic wire formats (SSE included), asserting the exact
//! requests skillet sends and what the user sees when the server misbehaves.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::World;
use common::conversation::{SYSTEM, review_skill, skillet};
use common::llm::{KEY, Llm, Sequence, anthropic_answer, openai_answer};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

#[test]
fn without_a_terminal_one_answer_is_streamed_for_the_prompt_and_files() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(header("authorization", format!("Bearer {KEY}").as_str()))
            .respond_with(openai_answer(&["`add` ", "subtracts."])),
    );
    review_skill(&w, json!({}));

    let (code, out, err) = skillet(
        &w,
        &[
            "run",
            "review",
            "--param",
            "file=src/lib.rs",
            "--param",
            "focus=safety",
        ],
        None,
    );

    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "`add` subtracts.\n");
    assert!(
        err.contains("guided question not answered: What changed?"),
        "{err}"
    );
    assert!(err.contains("skillet session resume"), "{err}");
    assert_eq!(
        llm.bodies(),
        [json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "<file path=\"src/lib.rs\">\npub fn add(a: i32, b: i32) -> i32 { a - b }\n</file>\n\nReview src/lib.rs for safety."},
            ],
            "max_tokens": 4096,
            "stream": true,
        })]
    );
    // Nothing skillet keeps holds the key.
    for entry in std::fs::read_dir(w.home.join(".local/share/skillet")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(KEY));
    }
}

#[test]
fn answers_guide_the_turns_the_summary_is_formatted_and_the_session_resumes() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "anthropic", "max_tokens = 300\n");
    llm.mount(
        Mock::given(method("POST"))
            .and(path("/v1/messages"))
            .and(header("x-api-key", KEY))
            .respond_with(Sequence::new(vec![
                anthropic_answer("It subtracts."),
                anthropic_answer("Add a test."),
                anthropic_answer("Fix add."),
                anthropic_answer("Rename it."),
                anthropic_answer("Fix and rename."),
            ])),
    );
    review_skill(
        &w,
        json!({"max_turns": 2, "model": "skill-model",
               "completion": {"summary_prompt": "One line on {file}, please.",
                              "summary_format": "Verdict after {turns} turns on {file}: {summary}"}}),
    );
    w.write(
        "answers.txt",
        "the add function\n\nnothing\nhow to test it?\nnever sent\n",
    );

    let (code, out, err) = skillet(
        &w,
        &[
            "run",
            "review",
            "--param",
            "file=src/lib.rs",
            "--answers",
            "answers.txt",
            "--json",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let outcome: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        outcome["summary"],
        "Verdict after 2 turns on src/lib.rs: Fix add."
    );
    assert_eq!(outcome["turns"], 2);
    assert_eq!(outcome["ended_by"], "max_turns");
    assert_eq!(outcome["model"], "skill-model");
    assert_eq!(outcome["context_files"], json!(["src/lib.rs"]));
    assert_eq!(
        outcome["usage"],
        json!({"input_tokens": 180, "output_tokens": 21})
    );

    let first = "<file path=\"src/lib.rs\">\npub fn add(a: i32, b: i32) -> i32 { a - b }\n</file>\n\nReview src/lib.rs for bugs.\n\nQ: What changed?\nA: the add function\n\nQ: What worries you?\nA: nothing";
    let bodies = llm.bodies();
    assert_eq!(bodies.len(), 3, "two answers and a summary");
    assert_eq!(
        bodies[2],
        json!({
            "model": "skill-model",
            "max_tokens": 300,
            "system": SYSTEM,
            "messages": [
                {"role": "user", "content": first},
                {"role": "assistant", "content": "It subtracts."},
                {"role": "user", "content": "how to test it?"},
                {"role": "assistant", "content": "Add a test."},
                {"role": "user", "content": "One line on src/lib.rs, please."},
            ],
            "stream": true,
        })
    );
    assert!(
        llm.requests()
            .iter()
            .all(|r| r.headers.get("anthropic-version").unwrap() == "2023-06-01")
    );

    // Kept as a session like any other.
    let id = outcome["session_id"].as_str().unwrap().to_owned();
    let (code, out, err) = skillet(&w, &["session", "logs", &id, "--json"], None);
    assert_eq!(code, 0, "{err}");
    let logs: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(logs["session"]["status"], "open");
    let sources: Vec<&str> = logs["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["prompt", "user", "summary"]);
    let (_, out, _) = skillet(&w, &["session", "list", "--json"], None);
    assert!(out.contains(&id), "{out}");

    // Resumed: the conversation goes on without the summary exchange, then is summed up again.
    let (code, out, err) = skillet(
        &w,
        &[
            "session",
            "resume",
            &id,
            "--answers",
            "-",
            "--max-turns",
            "3",
        ],
        Some("and the name?\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Rename it.\n"), "{out}");
    assert!(
        out.contains("Verdict after 3 turns on src/lib.rs: Fix and rename."),
        "{out}"
    );
    let bodies = llm.bodies();
    assert_eq!(bodies.len(), 5);
    let messages = bodies[3]["messages"].as_array().unwrap();
    let said: Vec<&str> = messages
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        said,
        [
            first,
            "It subtracts.",
            "how to test it?",
            "Add a test.",
            "and the name?"
        ]
    );

    // Closed, it cannot be resumed.
    let (code, _, err) = skillet(&w, &["session", "close", &id], None);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = skillet(
        &w,
        &["session", "resume", &id, "--answers", "-"],
        Some("more\n"),
    );
    assert_eq!(code, 125);
    assert!(err.contains("is closed"), "{err}");
}

#[test]
fn on_a_terminal_the_questions_are_asked_and_an_empty_line_ends_it() {
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        eprintln!("skipped: util-linux `script` (to give skillet a terminal) is not installed");
        return;
    }
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(Mock::given(method("POST")).respond_with(Sequence::new(vec![
        openai_answer(&["First answer."]),
        openai_answer(&["Second answer."]),
        openai_answer(&["The summary."]),
    ])));
    review_skill(&w, json!({}));
    let skillet = assert_cmd::cargo::cargo_bin("skillet");
    let command = format!("{} run review --param file=src/lib.rs", skillet.display());
    let mut child = w
        .command(script)
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("TEST_LLM_KEY", KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Typed ahead: two answers, a follow-up, then an empty line.
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"the add function\nits sign\nwhy?\n\n")
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("What changed?") && shown.contains("What worries you?"),
        "{shown}"
    );
    assert!(shown.contains("[1/10] your reply"), "{shown}");
    assert!(shown.contains("The summary."), "{shown}");
    assert!(!shown.contains(KEY));
    let bodies = llm.bodies();
    assert_eq!(bodies.len(), 3, "two answers and the summary");
    let first = bodies[0]["messages"][1]["content"].as_str().unwrap();
    assert!(
        first.ends_with(
            "Q: What changed?\nA: the add function\n\nQ: What worries you?\nA: its sign"
        ),
        "{first}"
    );
    assert_eq!(bodies[1]["messages"][3]["content"], "why?");
    assert_eq!(
        bodies[2]["messages"][5]["content"],
        skillet_engine::conversation::DEFAULT_SUMMARY_PROMPT
    );
}

#[test]
fn a_dry_run_shows_the_first_request_and_sends_nothing() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "anthropic", "");
    review_skill(&w, json!({}));
    let (code, out, err) = skillet(
        &w,
        &[
            "run",
            "review",
            "--param",
            "file=src/lib.rs",
            "--dry-run",
            "--json",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let preview: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(preview["system"], SYSTEM);
    assert_eq!(
        preview["first_message"],
        "<file path=\"src/lib.rs\">\npub fn add(a: i32, b: i32) -> i32 { a - b }\n</file>\n\nReview src/lib.rs for bugs."
    );
    assert_eq!(
        preview["guided_questions"],
        json!(["What changed?", "What worries you?"])
    );
    assert_eq!(
        preview["model"],
        format!("test-model at {}/v1 (anthropic)", llm.server.uri())
    );
    let (code, out, _) = skillet(
        &w,
        &["run", "review", "--param", "file=src/lib.rs", "--dry-run"],
        None,
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("── first message ──") && out.contains("Q: What changed?"),
        "{out}"
    );
    assert!(llm.bodies().is_empty(), "a dry run sends nothing");
}

#[test]
fn session_config_caps_open_conversations_and_expires_idle_ones() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(Mock::given(method("POST")).respond_with(openai_answer(&["ok"])));
    review_skill(
        &w,
        json!({"session_config": {"max_sessions": 1, "idle_timeout": 1}}),
    );
    let run = |w: &World| skillet(w, &["run", "review", "--param", "file=x", "--json"], None);

    let (code, out, err) = run(&w);
    assert_eq!(code, 0, "{err}");
    let first: Value = serde_json::from_str(&out).unwrap();
    let (code, out, _) = run(&w);
    assert_eq!(code, 125);
    let refused: Value = serde_json::from_str(&out).unwrap();
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("already has 1 open conversation"),
        "{refused}"
    );

    // Idle past its idle_timeout, it expires: it cannot be resumed, and no longer counts.
    std::thread::sleep(Duration::from_millis(1100));
    let id = first["session_id"].as_str().unwrap();
    let (code, _, err) = skillet(
        &w,
        &["session", "resume", id, "--answers", "-"],
        Some("more\n"),
    );
    assert_eq!(code, 125);
    assert!(
        err.contains("expired (past its idle_timeout of 1 s)"),
        "{err}"
    );
    let (code, _, err) = run(&w);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn doctor_says_which_model_conversations_use() {
    let w = World::new();
    let llm = Llm::start();
    let (_, out, _) = skillet(&w, &["doctor", "--json"], None);
    let llm_row = |out: &str| -> Value {
        let rows: Value = serde_json::from_str(out).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["layer"] == "llm")
            .unwrap_or_else(|| panic!("no llm row in {out}"))
            .clone()
    };
    let last = llm_row(&out);
    assert_eq!(last["state"], "unavailable");

    llm.configure(&w, "anthropic", "");
    let (_, out, _) = skillet(&w, &["doctor", "--json"], None);
    let last = llm_row(&out);
    assert_eq!(last["state"], "active", "{last}");
    assert_eq!(
        last["detail"],
        format!(
            "anthropic test-model at {}/v1, key from $TEST_LLM_KEY",
            llm.server.uri()
        )
    );
}

#[test]
fn hostile_values_neither_expand_nor_pull_in_files_from_outside() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(Mock::given(method("POST")).respond_with(openai_answer(&["ok"])));
    review_skill(
        &w,
        json!({"context_files": {"patterns": ["src/*.rs", "../*", "/etc/*"]}}),
    );
    let (code, _, err) = skillet(
        &w,
        &[
            "run",
            "review",
            "--param",
            "file=/etc/passwd",
            "--param",
            "focus={file} ../../etc/shadow",
        ],
        None,
    );
    // A pattern reaching outside the workspace is refused before anything is sent.
    assert_eq!(code, 125);
    assert!(err.contains("reaches outside the workspace"), "{err}");
    assert!(llm.bodies().is_empty());

    review_skill(&w, json!({}));
    let (code, _, err) = skillet(
        &w,
        &[
            "run",
            "review",
            "--param",
            "file=/etc/passwd",
            "--param",
            "focus={file} ../../etc/shadow",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let sent = llm.bodies()[0]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        sent.ends_with("Review /etc/passwd for {file} ../../etc/shadow."),
        "{sent}"
    );
    assert!(
        !sent.contains("root:"),
        "a file outside the workspace was sent: {sent}"
    );
    assert!(sent.contains("<file path=\"src/lib.rs\">"));
}

#[test]
fn a_conversation_whose_first_request_failed_is_sent_again_on_resume() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(Mock::given(method("POST")).respond_with(Sequence::new(vec![
        ResponseTemplate::new(503).set_body_string("warming up"),
        openai_answer(&["Now it works."]),
    ])));
    review_skill(&w, json!({"retry": {"max_attempts": 1}}));
    let (code, out, _) = skillet(&w, &["run", "review", "--param", "file=x", "--json"], None);
    assert_eq!(code, 125);
    let failed: Value = serde_json::from_str(&out).unwrap();
    let id = failed["session_id"]
        .as_str()
        .expect("the failed conversation is kept");
    assert!(
        failed["error"].as_str().unwrap().contains("sends it again"),
        "{failed}"
    );

    let (code, out, err) = skillet(&w, &["session", "resume", id], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Now it works.\n");
    let bodies = llm.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1], "the same first request, sent again");
}
