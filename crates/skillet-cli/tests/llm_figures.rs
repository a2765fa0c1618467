//! What conversations ask of their model, as the figures show it: tokens in and out (as the
//! provider counts them) and the time spent waiting on the model, per execution (`history`),
//! per skill (`stats`) and per phase (`trace`'s `llm_request`), against a local server speaking
//! the OpenAI wire format.

#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use common::conversation::{review_skill, skillet};
use common::llm::{Llm, openai_answer};
use common::observe::json_of;
use serde_json::{Value, json};
use wiremock::Mock;
use wiremock::matchers::{method, path};

/// The JSON a command that succeeds prints.
fn json_ok(w: &World, args: &[&str]) -> Value {
    let (code, value) = json_of(w, args);
    assert_eq!(code, 0, "{value}");
    value
}

#[test]
fn tokens_and_model_time_are_kept_per_run_and_summed_per_skill() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    // The answer says it used 50 tokens of prompt and 5 of completion.
    llm.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(openai_answer(&["fine."])),
    );
    review_skill(&w, json!({}));
    for _ in 0..2 {
        let (code, _, err) = skillet(
            &w,
            &[
                "run",
                "review",
                "--param",
                "file=src/lib.rs",
                "--param",
                "focus=x",
            ],
            None,
        );
        assert_eq!(code, 0, "{err}");
    }
    let history = json_ok(&w, &["history", "--json", "--limit", "1"]);
    let run = &history[0];
    assert_eq!(run["llm_input_tokens"], 50, "{run}");
    assert_eq!(run["llm_output_tokens"], 5, "{run}");
    assert!(run["llm_ms"].as_i64().is_some_and(|ms| ms >= 0), "{run}");

    let stats = json_ok(&w, &["stats", "review", "--json"]);
    let review = &stats["skills"][0];
    assert_eq!(review["llm_input_tokens"], 100, "{review}");
    assert_eq!(review["llm_output_tokens"], 10, "{review}");
    assert_eq!(review["llm_ms"]["count"], 2, "{review}");

    let trace = json_ok(&w, &["trace", run["id"].as_str().unwrap(), "--json"]);
    let phases: Vec<&str> = trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["phase"].as_str().unwrap())
        .collect();
    assert!(phases.contains(&"llm_request"), "{phases:?}");
}
