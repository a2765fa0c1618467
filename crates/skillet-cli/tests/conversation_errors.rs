//! Conversations when the model misbehaves: retries on rate limits and server errors, a malformed
//! or silent stream, a missing provider, an open circuit and the skill's timeout.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::World;
use common::conversation::{review_skill, skillet};
use common::llm::{Llm, Sequence, openai_answer};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

#[test]
fn a_rate_limit_is_retried_and_the_answer_arrives() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(Mock::given(method("POST")).respond_with(Sequence::new(vec![
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": {"message": "Rate limit reached"}})),
            openai_answer(&["fine"]),
        ])));
    review_skill(&w, json!({}));
    let (code, out, err) = skillet(&w, &["run", "review", "--param", "file=x"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "fine\n");
    assert!(
        err.contains("attempt 1 of 3") && err.contains("Rate limit reached"),
        "{err}"
    );
    assert_eq!(llm.bodies().len(), 2);
}

#[test]
fn server_errors_are_retried_then_reported() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500).set_body_string("model crashed")),
    );
    review_skill(
        &w,
        json!({"retry": {"max_attempts": 2, "initial_backoff_ms": 10}}),
    );
    let (code, out, err) = skillet(&w, &["run", "review", "--param", "file=x"], None);
    assert_eq!(code, 125);
    assert_eq!(out, "");
    assert!(
        err.contains("answered 500: model crashed (after 2 attempts)"),
        "{err}"
    );
    assert_eq!(llm.bodies().len(), 2);
    let (_, out, _) = skillet(&w, &["history", "--json"], None);
    let history: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(history[0]["status"], "failed", "{history}");
}

#[test]
fn a_malformed_stream_is_not_retried() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(
        Mock::given(method("POST")).respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("data: {\"choices\": [oops\n\n", "text/event-stream"),
        ),
    );
    review_skill(&w, json!({}));
    let (code, _, err) = skillet(&w, &["run", "review", "--param", "file=x"], None);
    assert_eq!(code, 125);
    assert!(
        err.contains("not a valid chat.completion.chunk stream"),
        "{err}"
    );
    assert_eq!(llm.bodies().len(), 1);
}

#[test]
fn a_silent_server_times_out() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "timeout_secs = 1\n");
    llm.mount(
        Mock::given(method("POST"))
            .respond_with(openai_answer(&["late"]).set_delay(Duration::from_secs(4))),
    );
    review_skill(&w, json!({"retry": {"max_attempts": 1}}));
    let (code, out, err) = skillet(&w, &["run", "review", "--param", "file=x"], None);
    assert_eq!(code, 124, "{err}");
    assert_eq!(out, "");
    assert!(err.contains("said nothing for 1 s"), "{err}");
}

#[test]
fn without_a_provider_or_key_the_error_says_what_to_configure() {
    let w = World::new();
    review_skill(&w, json!({}));
    let (code, _, err) = skillet(&w, &["run", "review", "--param", "file=x"], None);
    assert_eq!(code, 125);
    assert!(err.contains("no LLM provider is configured"), "{err}");
    assert!(
        err.contains("[llm]") && err.contains("api_key_env"),
        "{err}"
    );
    let (_, out, _) = skillet(&w, &["history", "--json"], None);
    let history: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(history[0]["skill"], "review");
    assert_eq!(history[0]["status"], "error", "a refusal is recorded too");

    w.write(
        "~/.config/skillet/skillet.toml",
        "[llm]\nmodel = \"m\"\napi_key_env = \"UNSET_TEST_KEY\"\n",
    );
    let (code, _, err) = skillet(&w, &["run", "review", "--param", "file=x"], None);
    assert_eq!(code, 125);
    assert!(err.contains("UNSET_TEST_KEY"), "{err}");

    // A workspace cannot point the key elsewhere.
    w.write(
        ".skillet/skillet.toml",
        "[llm]\nbase_url = \"http://127.0.0.1:9/v1\"\n",
    );
    let (_, _, err) = skillet(&w, &["run", "review", "--param", "file=x"], None);
    assert!(
        err.contains("[llm], [telemetry] and [[alerts]] are ignored in a workspace configuration"),
        "{err}"
    );
}

#[test]
fn a_failing_provider_opens_the_skills_circuit() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)));
    review_skill(
        &w,
        json!({"retry": {"max_attempts": 1},
               "circuit_breaker": {"failure_threshold": 2, "reset_after_s": 60}}),
    );
    for _ in 0..2 {
        let (code, _, err) = skillet(&w, &["run", "review", "--param", "file=x"], None);
        assert_eq!(code, 125, "{err}");
    }
    let (code, _, err) = skillet(&w, &["run", "review", "--param", "file=x"], None);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("circuit open"), "{err}");
    assert_eq!(llm.bodies().len(), 2, "an open circuit sends nothing");
}

#[test]
fn the_skills_timeout_bounds_each_answer() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    llm.mount(
        Mock::given(method("POST"))
            .respond_with(openai_answer(&["slow"]).set_delay(Duration::from_secs(5))),
    );
    review_skill(&w, json!({"timeout": 1}));
    // The server would answer "slow" after 5 s; the run ends at 1 s without it.
    let (code, out, err) = skillet(&w, &["run", "review", "--param", "file=x"], None);
    assert_eq!(code, 124, "{err}");
    assert_eq!(out, "");
    assert!(err.contains("within the skill's timeout of 1 s"), "{err}");
}
