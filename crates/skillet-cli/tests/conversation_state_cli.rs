//! Conversation skills that keep state: each conversation's summary is kept as a note, and the
//! next conversation's first message starts with the notes (asserted on the requests the model
//! server received), bounded by the state limit; and conversations that opt into `cache`.

#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use common::conversation::{review_skill, skillet};
use common::llm::{Llm, Sequence, openai_answer};
use common::state::export;
use serde_json::{Value, json};
use wiremock::Mock;
use wiremock::matchers::method;

const RUN: [&str; 4] = ["run", "review", "--param", "file=src/lib.rs"];

/// The first user message of request `n` the server received.
fn first_user_message(llm: &Llm, n: usize) -> String {
    llm.bodies()[n]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn notes_from_one_conversation_reach_the_model_in_the_next() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(Mock::given(method("POST")).respond_with(Sequence::new(vec![
        openai_answer(&["`add` subtracts: fix the sign."]),
        openai_answer(&["Still subtracts."]),
    ])));
    review_skill(&w, json!({"state": {"version": 1}}));

    let (code, out, err) = skillet(&w, &RUN, None);
    assert_eq!(
        (code, out.as_str()),
        (0, "`add` subtracts: fix the sign.\n"),
        "{err}"
    );
    let first = first_user_message(&llm, 0);
    assert!(
        first.starts_with("<file path=\"src/lib.rs\">"),
        "no notes yet: {first}"
    );

    // What the next conversation would send, shown by --dry-run, starts with the note.
    let (code, out, err) = skillet(&w, &[&RUN[..], &["--dry-run", "--json"]].concat(), None);
    assert_eq!(code, 0, "{err}");
    let preview: Value = serde_json::from_str(&out).unwrap();
    let expected_notes = "<notes>\nNotes kept from earlier conversations of this skill in this \
        workspace, oldest first:\n\n<note>\n`add` subtracts: fix the sign.\n</note>\n</notes>\n\n";
    assert_eq!(
        preview["first_message"].as_str().unwrap(),
        format!("{expected_notes}{first}")
    );

    let (code, _, err) = skillet(&w, &RUN, None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        first_user_message(&llm, 1),
        format!("{expected_notes}{first}"),
        "the second conversation starts with the first one's summary"
    );
    let notes = export(&w, "review");
    let kept: Vec<&str> = notes["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["summary"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["`add` subtracts: fix the sign.", "Still subtracts."]);
}

#[test]
fn the_oldest_notes_are_dropped_at_the_state_limit_and_a_failed_conversation_adds_none() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    let long = |c: char| c.to_string().repeat(400);
    let (a, b, c) = (long('a'), long('b'), long('c'));
    llm.mount(Mock::given(method("POST")).respond_with(Sequence::new(vec![
        openai_answer(&[&a]),
        openai_answer(&[&b]),
        openai_answer(&[&c]),
        wiremock::ResponseTemplate::new(400).set_body_string("{\"error\": {\"message\": \"bad\"}}"),
    ])));
    review_skill(&w, json!({"state": {"version": 1, "max_kb": 1}}));
    for _ in 0..3 {
        let (code, _, err) = skillet(&w, &RUN, None);
        assert_eq!(code, 0, "{err}");
    }
    let summaries = |w: &World| -> Vec<String> {
        export(w, "review")["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["summary"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        summaries(&w),
        [b.clone(), c.clone()],
        "a 1 KiB document keeps the newest two"
    );
    assert!(
        first_user_message(&llm, 2).contains(&a),
        "the third conversation still saw the first note"
    );

    let (code, _, _) = skillet(&w, &RUN, None);
    assert_ne!(code, 0, "the model refused");
    assert_eq!(summaries(&w), [b, c], "a failed conversation adds no note");
}

#[test]
fn a_conversation_skill_keeps_notes_but_no_migrations_or_conflict_rule() {
    let w = World::new();
    review_skill(
        &w,
        json!({"state": {"version": 2, "migrate": {"1": ["true"]}, "on_conflict": "fail"}}),
    );
    let (code, _, err) = skillet(&w, &["validate", "review"], None);
    assert_ne!(code, 0);
    assert!(err.contains("nothing of the skill's to migrate"), "{err}");
    assert!(err.contains("`on_conflict` does not apply"), "{err}");
    review_skill(&w, json!({"state": {"version": 1}}));
    let (code, _, err) = skillet(&w, &["validate", "review"], None);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_second_identical_conversation_is_a_cache_hit_that_asks_the_model_nothing() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(Mock::given(method("POST")).respond_with(Sequence::new(vec![
        wiremock::ResponseTemplate::new(400).set_body_string("{\"error\": {\"message\": \"bad\"}}"),
        openai_answer(&["first"]),
        openai_answer(&["refreshed"]),
        openai_answer(&["uncached"]),
        openai_answer(&["after the edit"]),
        openai_answer(&["other answers"]),
    ])));
    review_skill(&w, json!({"cache": {"ttl": 300}, "max_turns": 1}));
    let json_run = [&RUN[..], &["--json"]].concat();
    let run = |args: &[&str], input: Option<&str>| {
        let (code, out, err) = skillet(&w, args, input);
        assert_eq!(code, 0, "{err}");
        let outcome: Value = serde_json::from_str(&out).unwrap();
        (
            outcome["summary"].as_str().unwrap().to_owned(),
            outcome["cached"].as_bool().unwrap(),
        )
    };

    // A failed conversation is not kept.
    let (code, _, _) = skillet(&w, &RUN, None);
    assert_ne!(code, 0);
    assert_eq!(run(&json_run, None), ("first".to_owned(), false));
    assert_eq!(llm.bodies().len(), 2);

    // The same conversation again: answered from the cache, no request sent.
    assert_eq!(run(&json_run, None), ("first".to_owned(), true));
    let (code, out, err) = skillet(&w, &RUN, None);
    assert_eq!((code, out.as_str()), (0, "first\n"), "{err}");
    assert!(err.contains("answered from the cache"), "{err}");
    assert_eq!(llm.bodies().len(), 2, "a hit asks the model nothing");

    // --refresh asks again and keeps the new answer; --no-cache neither reads nor keeps.
    assert_eq!(
        run(&[&json_run[..], &["--refresh"]].concat(), None),
        ("refreshed".to_owned(), false)
    );
    assert_eq!(run(&json_run, None), ("refreshed".to_owned(), true));
    assert_eq!(
        run(&[&json_run[..], &["--no-cache"]].concat(), None),
        ("uncached".to_owned(), false)
    );
    assert_eq!(run(&json_run, None), ("refreshed".to_owned(), true));
    assert_eq!(llm.bodies().len(), 4);

    // A changed context file is another conversation: a miss, then kept in turn.
    w.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 { a + b }\n",
    );
    assert_eq!(run(&json_run, None), ("after the edit".to_owned(), false));
    assert!(first_user_message(&llm, 4).contains("a + b"));
    assert_eq!(run(&json_run, None), ("after the edit".to_owned(), true));

    // So are other answers to the guided questions.
    w.write("answers.txt", "the sign\nnothing else\n");
    let with_answers = [&json_run[..], &["--answers", "answers.txt"]].concat();
    assert_eq!(
        run(&with_answers, None),
        ("other answers".to_owned(), false)
    );
    assert_eq!(run(&with_answers, None), ("other answers".to_owned(), true));
    assert_eq!(llm.bodies().len(), 6);

    // More turns allowed but no follow-up given: the same conversation, replayed.
    let (code, out, err) = skillet(&w, &[&RUN[..], &["--max-turns", "2"]].concat(), None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "after the edit\n", "{err}");
    assert!(err.contains("answered from the cache"), "{err}");
    assert_eq!(llm.bodies().len(), 6);
}

#[test]
fn a_conversation_skill_that_takes_follow_ups_can_be_cached() {
    let w = World::new();
    review_skill(&w, json!({"cache": {"ttl": 300}}));
    let (code, _, err) = skillet(&w, &["validate", "review"], None);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn notes_are_kept_per_workspace() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(Mock::given(method("POST")).respond_with(Sequence::new(vec![
        openai_answer(&["noted in A"]),
        openai_answer(&["noted in B"]),
        openai_answer(&["A again"]),
    ])));
    // One global skill, used from two workspaces: each keeps its own notes.
    w.write(
        "~/.config/skillet/skills/recall.json",
        &json!({"name": "recall", "type": "conversation", "description": "d",
                "prompt_template": "What do you recall?", "state": {"version": 1}})
        .to_string(),
    );
    let other = w.path("~/project-b");
    std::fs::create_dir_all(other.join(".skillet")).unwrap();
    let in_b = |args: &[&str]| {
        let out = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .current_dir(&other)
            .env("TEST_LLM_KEY", common::llm::KEY)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    let (code, _, err) = skillet(&w, &["run", "recall"], None);
    assert_eq!(code, 0, "{err}");
    in_b(&["run", "recall"]);
    assert_eq!(
        first_user_message(&llm, 1),
        "What do you recall?",
        "workspace B sees none of A's notes"
    );
    let (code, _, err) = skillet(&w, &["run", "recall"], None);
    assert_eq!(code, 0, "{err}");
    let third = first_user_message(&llm, 2);
    assert!(third.contains("noted in A"), "{third}");
    assert!(
        !third.contains("noted in B"),
        "A sees none of B's notes: {third}"
    );
}
