//! `skillet run --debug` and `--profile` of a conversation skill, against a local server
//! speaking the OpenAI wire format: which file answered, the parameters after checking, where
//! the requests went (never the key or a password in the address), and the time spent waiting
//! on the model.

#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use common::conversation::{review_skill, skillet};
use common::llm::{KEY, Llm, openai_answer};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const ARGS: &[&str] = &[
    "run",
    "review",
    "--param",
    "file=src/lib.rs",
    "--param",
    "focus=safety",
];

fn answering(w: &World) -> Llm {
    let llm = Llm::start();
    llm.configure(w, "openai", "");
    llm.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(openai_answer(&["Looks ", "fine."])),
    );
    review_skill(w, json!({}));
    llm
}

#[test]
fn debug_and_profile_say_what_a_conversation_sent_and_where_its_time_went() {
    let w = World::new();
    let llm = answering(&w);
    let args = [ARGS, &["--debug", "--profile"]].concat();

    let (code, out, err) = skillet(&w, &args, None);

    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "Looks fine.\n", "stdout stays the answer");
    let endpoint = format!("{}/v1", llm.server.uri());
    for part in [
        "skillet debug: skill",
        ".skillet/skills/review.json (workspace)",
        "skillet debug: parameters after checking",
        "focus (string) = \"safety\"  [given]",
        "skillet debug: conversation",
        &format!("model:    test-model at {endpoint} (openai), at most 4096 tokens an answer"),
        "context:  src/lib.rs",
        "skillet debug: phases",
        "llm_request",
        "skillet profile: wall",
    ] {
        assert!(err.contains(part), "{part:?} missing from:\n{err}");
    }
    assert!(!err.contains(KEY), "the key is never shown");
    assert_eq!(llm.bodies().len(), 1, "one request, as without --debug");
}

#[test]
fn with_json_the_reports_are_nested_beside_the_outcome() {
    let w = World::new();
    let _llm = answering(&w);
    let args = [ARGS, &["--debug", "--profile", "--json"]].concat();

    let (code, out, err) = skillet(&w, &args, None);

    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["summary"], "Looks fine.", "{shown}");
    let sent = &shown["debug"]["conversation"];
    assert_eq!(sent["model"], "test-model", "{shown}");
    assert_eq!(sent["provider"], "openai");
    assert_eq!(sent["context_files"], json!(["src/lib.rs"]));
    assert!(sent["first_message_chars"].as_u64().unwrap() > 40, "{sent}");
    assert_eq!(shown["debug"]["skill"]["name"], "review");
    let waited = shown["profile"]["phases_us"]["llm_request"]
        .as_u64()
        .unwrap();
    let wall = shown["profile"]["wall_us"].as_u64().unwrap();
    assert!(waited > 0 && waited <= wall, "{waited} of {wall}");
    assert!(!out.contains(KEY));
}

#[test]
fn a_failed_conversation_still_reports_and_no_message_shows_the_address_password() {
    let w = World::new();
    let llm = Llm::start();
    let uri = llm.server.uri();
    let with_password = uri.replacen("http://", "http://alice:hunter2pw@", 1);
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!(
            "[llm]\nprovider = \"openai\"\nbase_url = \"{with_password}/v1?token=q1w2e3\"\n\
             model = \"test-model\"\napi_key_env = \"TEST_LLM_KEY\"\n"
        ),
    );
    llm.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            // A server that echoes the request it refused: the key, the query, the password
            // and the `Basic` header made of it.
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"message":
                format!("bad request to /v1?token=q1w2e3 (Authorization: Basic YWxpY2U6aHVudGVyMnB3, \
                         Bearer {KEY}, password hunter2pw)")}}))),
    );
    review_skill(&w, json!({}));
    let args = [ARGS, &["--debug", "--json"]].concat();

    let (code, out, err) = skillet(&w, &args, None);

    assert_ne!(code, 0, "{out}{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert!(shown["error"].is_string(), "{shown}");
    assert_eq!(
        shown["debug"]["conversation"]["endpoint"],
        format!("{uri}/v1"),
        "{shown}"
    );
    assert!(
        shown["error"].as_str().unwrap().contains("bad request to"),
        "the server's words are kept: {shown}"
    );
    for secret in ["hunter2pw", "q1w2e3", "YWxpY2U6aHVudGVyMnB3", KEY] {
        assert!(!out.contains(secret), "{secret} shown: {out}");
        assert!(!err.contains(secret), "{secret} shown: {err}");
    }
    // What --dry-run shows of the same address.
    let (code, out, err) = skillet(&w, &[ARGS, &["--dry-run"]].concat(), None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("model:   test-model at http://127.0.0.1"),
        "{out}"
    );
    assert!(
        !out.contains("hunter2pw") && !out.contains("q1w2e3"),
        "{out}"
    );
    // And what `skillet doctor` says of it.
    let (_, out, err) = skillet(&w, &["doctor", "--json"], None);
    assert!(
        out.contains(&format!(
            "openai test-model at {uri}/v1, key from $TEST_LLM_KEY"
        )),
        "{out}{err}"
    );
    assert!(
        !out.contains("hunter2pw") && !out.contains("q1w2e3"),
        "{out}"
    );
}
