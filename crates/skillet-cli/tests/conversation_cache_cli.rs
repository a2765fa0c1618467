//! Conversations that take follow-ups, cached answer by answer: a repeat with the same
//! follow-ups is replayed from the cache with no request to the model; one that diverges is
//! replayed up to where it differs and goes to the model from there. Asserted on the requests
//! a real model server (OpenAI wire format, over a socket) received.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::World;
use common::conversation::{review_skill, skillet};
use common::llm::{Llm, openai_answer};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, Request, Respond, ResponseTemplate};

/// Answers each request with `answer N to: <its last message>`, N counting requests, so every
/// answer is new and tells which request made it.
struct Numbered(AtomicUsize);

impl Respond for Numbered {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let last = body["messages"].as_array().unwrap().last().unwrap()["content"]
            .as_str()
            .unwrap()
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned();
        openai_answer(&[&format!("answer {n} to: {last}")])
    }
}

fn world() -> (World, Llm) {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(Mock::given(method("POST")).respond_with(Numbered(AtomicUsize::new(0))));
    review_skill(&w, json!({"cache": {"ttl": 300}, "max_turns": 3}));
    (w, llm)
}

/// Holds the conversation with `answers` (the two guided answers, then the follow-ups); the
/// outcome.
fn converse(w: &World, answers: &str, extra: &[&str]) -> Value {
    w.write("answers.txt", answers);
    let args = [
        &[
            "run",
            "review",
            "--param",
            "file=src/lib.rs",
            "--answers",
            "answers.txt",
            "--json",
        ][..],
        extra,
    ]
    .concat();
    let (code, out, err) = skillet(w, &args, None);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn warned(outcome: &Value, text: &str) -> bool {
    outcome["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains(text))
}

/// The message contents of request `n` the server received.
fn sent(llm: &Llm, n: usize) -> Vec<String> {
    llm.bodies()[n]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

const TALK: &str = "the sign\nnothing else\nwhy a minus?\nand the tests?\n";

#[test]
fn a_repeated_conversation_with_follow_ups_is_replayed_and_asks_the_model_nothing() {
    let (w, llm) = world();
    // Three answers and the summary asked after more than one.
    let first = converse(&w, TALK, &[]);
    assert_eq!(first["turns"], 3, "{first}");
    assert_eq!(first["cached"], false);
    assert_eq!(llm.bodies().len(), 4);
    assert_eq!(
        first["last_answer"], "answer 3 to: and the tests?",
        "{first}"
    );

    let again = converse(&w, TALK, &[]);
    assert_eq!(llm.bodies().len(), 4, "a replay sends no request: {again}");
    assert_eq!(again["cached"], true);
    assert!(warned(&again, "answered from the cache"), "{again}");
    for field in ["summary", "last_answer", "turns", "ended_by"] {
        assert_eq!(again[field], first[field], "{field}");
    }
    // The replay is a conversation of its own, kept to be resumed.
    assert_ne!(again["session_id"], first["session_id"]);
    let (code, out, err) = skillet(
        &w,
        &["session", "logs", again["session_id"].as_str().unwrap()],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("answer 2 to: why a minus?"), "{out}");

    // The plain text output is the same as the first time's.
    w.write("answers.txt", TALK);
    let (code, out, err) = skillet(
        &w,
        &[
            "run",
            "review",
            "--param",
            "file=src/lib.rs",
            "--answers",
            "answers.txt",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("answer 1 to:"), "{out}");
    assert!(err.contains("answered from the cache"), "{err}");
    assert_eq!(llm.bodies().len(), 4);
}

#[test]
fn a_conversation_that_diverges_goes_to_the_model_from_where_it_differs() {
    let (w, llm) = world();
    let first = converse(&w, TALK, &[]);
    assert_eq!(llm.bodies().len(), 4, "{first}");

    // The last follow-up differs: answers 1 and 2 are replayed, answer 3 and the summary asked.
    let other = converse(
        &w,
        "the sign\nnothing else\nwhy a minus?\nand the docs?\n",
        &[],
    );
    assert_eq!(llm.bodies().len(), 6, "{other}");
    assert_eq!(other["cached"], false);
    assert!(
        warned(&other, "2 of 4 answers came from the cache"),
        "{other}"
    );
    assert_eq!(other["last_answer"], "answer 5 to: and the docs?");
    // The model got the whole transcript, the replayed answers in it as they were first given.
    let third = sent(&llm, 4);
    assert_eq!(
        third.len(),
        6,
        "system, then three user and two model messages: {third:?}"
    );
    assert_eq!(third[2], "answer 1 to: A: nothing else");
    assert_eq!(third[4], "answer 2 to: why a minus?");
    assert_eq!(third[5], "and the docs?");

    // Each branch is kept: both replay now.
    assert_eq!(converse(&w, TALK, &[])["cached"], true);
    assert_eq!(
        converse(
            &w,
            "the sign\nnothing else\nwhy a minus?\nand the docs?\n",
            &[]
        )["cached"],
        true
    );
    assert_eq!(llm.bodies().len(), 6);

    // Fewer follow-ups: two answers replayed; the summary of a two-answer conversation is new.
    let shorter = converse(&w, "the sign\nnothing else\nwhy a minus?\n", &[]);
    assert_eq!(llm.bodies().len(), 7, "{shorter}");
    assert_eq!(shorter["turns"], 2);
    assert!(
        warned(&shorter, "2 of 3 answers came from the cache"),
        "{shorter}"
    );

    // Another guided answer changes the first message: nothing is replayed.
    let fresh = converse(
        &w,
        "the sign\nsomething else\nwhy a minus?\nand the tests?\n",
        &[],
    );
    assert_eq!(llm.bodies().len(), 11, "{fresh}");
    assert!(!warned(&fresh, "from the cache"), "{fresh}");

    // So does an edited context file.
    w.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 { a + b }\n",
    );
    let edited = converse(&w, TALK, &[]);
    assert_eq!(llm.bodies().len(), 15, "{edited}");
    assert!(sent(&llm, 11)[1].contains("a + b"));
}

#[test]
fn refresh_asks_every_answer_again_and_no_cache_keeps_nothing() {
    let (w, llm) = world();
    converse(&w, TALK, &["--no-cache"]);
    assert_eq!(llm.bodies().len(), 4);
    // --no-cache kept nothing: this is a miss, and kept.
    assert_eq!(converse(&w, TALK, &[])["cached"], false);
    assert_eq!(llm.bodies().len(), 8);
    let refreshed = converse(&w, TALK, &["--refresh"]);
    assert_eq!(refreshed["cached"], false);
    assert_eq!(llm.bodies().len(), 12);
    // The refreshed answers replaced the kept ones.
    let again = converse(&w, TALK, &[]);
    assert_eq!(again["cached"], true);
    assert_eq!(again["last_answer"], refreshed["last_answer"]);
    assert_eq!(again["last_answer"], "answer 11 to: and the tests?");
    assert_eq!(llm.bodies().len(), 12);
}

#[test]
fn another_model_is_another_key() {
    let (w, llm) = world();
    converse(&w, TALK, &[]);
    assert_eq!(llm.bodies().len(), 4);
    let file = w.path("~/.config/skillet/skillet.toml");
    let config = std::fs::read_to_string(&file)
        .unwrap()
        .replace("model = \"test-model\"", "model = \"other-model\"");
    std::fs::write(&file, config).unwrap();
    assert_eq!(converse(&w, TALK, &[])["cached"], false);
    assert_eq!(llm.bodies().len(), 8);
    assert_eq!(llm.bodies()[4]["model"], "other-model");
}
