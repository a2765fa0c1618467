//! Conversation tests with cassettes, end to end with the real binary: `skillet test --record`
//! holds the conversation with a local server speaking the OpenAI and Anthropic wire formats
//! and stores it beside the skill; later runs replay it with the server gone, and fail with a
//! diff naming what changed when the skill would now send something else.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::World;
use common::conversation::{review_skill, skillet};
use common::llm::{KEY, Llm, Sequence, anthropic_answer, openai_answer};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const CASSETTE: &str = ".skillet/skills/__cassettes__/review-1.json";

/// The `review` skill with one test: the guided questions answered, one follow-up, so the
/// conversation is two answers and a summary (three requests).
fn review_with_test(w: &World) {
    review_skill(
        w,
        json!({"tests": [{
            "name": "finds the bug",
            "params": {"file": "src/lib.rs"},
            "stdin": "the add function\nnothing\nhow to test it?\n",
            "expect": {"stdout_contains": "Fix add"}
        }]}),
    );
}

fn answering(llm: &Llm, answers: Vec<ResponseTemplate>) {
    llm.mount(
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(Sequence::new(answers)),
    );
}

fn three_answers() -> Vec<ResponseTemplate> {
    vec![
        openai_answer(&["It ", "subtracts."]),
        openai_answer(&["Add a test."]),
        openai_answer(&["Fix add."]),
    ]
}

fn cassette(w: &World) -> String {
    std::fs::read_to_string(w.path(CASSETTE)).unwrap()
}

/// Records the review test against a fresh server, which is then stopped.
fn recorded(w: &World) {
    let llm = Llm::start();
    llm.configure(w, "openai", "");
    answering(&llm, three_answers());
    review_with_test(w);
    let (code, out, err) = skillet(w, &["test", "review", "--record"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(llm.bodies().len(), 3, "two answers and a summary");
}

#[test]
fn record_writes_the_cassette_and_replay_passes_offline() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    answering(&llm, three_answers());
    review_with_test(&w);

    let (code, out, err) = skillet(&w, &["test", "review", "--record"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS  review #1 finds the bug"), "{out}");
    assert!(
        out.contains("cassette written: ") && out.contains("__cassettes__/review-1.json"),
        "{out}"
    );
    let bodies = llm.bodies();
    assert_eq!(bodies.len(), 3, "two answers and a summary");

    // What was sent is what is kept: the model, the limit, the system prompt and every
    // message of the last request, and the context file's hash.
    let kept: Value = serde_json::from_str(&cassette(&w)).unwrap();
    assert_eq!(kept["skill"], "review");
    assert_eq!(kept["test"], 1);
    assert_eq!(kept["params"], json!({"file": "src/lib.rs"}));
    let exchanges = kept["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 3);
    let last = &exchanges[2]["request"];
    assert_eq!(last["model"], "test-model");
    assert_eq!(last["max_tokens"], bodies[2]["max_tokens"]);
    assert_eq!(json!(last["system"]), bodies[2]["messages"][0]["content"]);
    let sent: Vec<Value> = bodies[2]["messages"].as_array().unwrap()[1..].to_vec();
    assert_eq!(last["messages"], json!(sent));
    assert_eq!(exchanges[0]["answer"]["text"], "It subtracts.");
    assert_eq!(exchanges[2]["answer"]["text"], "Fix add.");
    let file = std::fs::read(w.path("src/lib.rs")).unwrap();
    let hash = sha256_hex(&file);
    assert_eq!(
        kept["context_files"],
        json!([{"path": "src/lib.rs", "sha256": hash}])
    );

    // The cassette folder beside the one-file skill is not taken for a broken skill folder.
    let (code, out, err) = w.run(&["validate"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !format!("{out}{err}").contains("holds no skill"),
        "{out}{err}"
    );

    // Deterministic: recording the same conversation again changes no byte.
    let before = cassette(&w);
    llm.rt.block_on(llm.server.reset());
    answering(&llm, three_answers());
    let (code, out, err) = skillet(&w, &["test", "review", "--record"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(cassette(&w), before);

    // Offline: the server is gone, and the replay passes.
    drop(llm);
    let (code, out, err) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS  review #1 finds the bug"), "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");

    // A machine with no [llm] at all (a CI runner) replays it too.
    std::fs::remove_file(w.path("~/.config/skillet/skillet.toml")).unwrap();
    let (code, out, err) = skillet(&w, &["test"], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS  review #1 finds the bug"), "{out}");
}

#[test]
fn the_expectations_judge_the_replayed_final_answer() {
    let w = World::new();
    recorded(&w);
    let skill = w.path(".skillet/skills/review.json");
    let mut spec: Value = serde_json::from_str(&std::fs::read_to_string(&skill).unwrap()).unwrap();
    spec["tests"][0]["expect"] = json!({"stdout_equals": "Fix everything.\n"});
    std::fs::write(&skill, spec.to_string()).unwrap();
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL  review #1 finds the bug: stdout_equals"),
        "{out}"
    );
    assert!(
        out.contains("-Fix everything.") && out.contains("+Fix add."),
        "{out}"
    );
}

#[test]
fn a_changed_template_fails_the_replay_with_a_diff() {
    let w = World::new();
    recorded(&w);
    let skill = w.path(".skillet/skills/review.json");
    let text = std::fs::read_to_string(&skill).unwrap();
    std::fs::write(
        &skill,
        text.replace(
            "Review {file} for {focus}.",
            "Review {file} carefully for {focus}.",
        ),
    )
    .unwrap();

    let (code, out, err) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(
            "FAIL  review #1 finds the bug: cassette: request 1 differs from the cassette"
        ),
        "{out}"
    );
    assert!(out.contains("message 1 (user)"), "{out}");
    assert!(
        out.contains("--- recorded") && out.contains("+++ now"),
        "{out}"
    );
    assert!(
        out.contains("re-record with `skillet test --record review`"),
        "{out}"
    );
    // The replay's own stop is not shown as a second, confusing error.
    assert!(!out.contains("HTTP client"), "{out}");
    assert!(
        out.contains("-Review src/lib.rs for bugs.")
            && out.contains("+Review src/lib.rs carefully for bugs."),
        "{out}"
    );
    // A changed description changes the system prompt: named as such.
    std::fs::write(
        &skill,
        text.replace("Review a change", "Review a whole change"),
    )
    .unwrap();
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the system prompt"), "{out}");
    assert!(
        out.contains("+This conversation runs the skillet skill `review`: Review a whole change"),
        "{out}"
    );
    // Back as recorded: passes again.
    std::fs::write(&skill, &text).unwrap();
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_changed_context_file_or_rule_fails_the_replay() {
    let w = World::new();
    recorded(&w);
    w.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 { a + b }\n",
    );
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("context file src/lib.rs changed (sha256 "),
        "{out}"
    );
    assert!(
        out.contains("+pub fn add(a: i32, b: i32) -> i32 { a + b }"),
        "{out}"
    );

    // A new file the rule now picks up.
    w.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 { a - b }\n",
    );
    w.write("src/more.rs", "pub fn sub() {}\n");
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("context file src/more.rs is new"), "{out}");

    // A context rule that leaves the file out.
    std::fs::remove_file(w.path("src/more.rs")).unwrap();
    let skill = w.path(".skillet/skills/review.json");
    let text = std::fs::read_to_string(&skill).unwrap();
    std::fs::write(&skill, text.replace("src/*.rs", "lib/*.rs")).unwrap();
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("context file src/lib.rs is no longer sent"),
        "{out}"
    );
}

#[test]
fn a_conversation_that_sends_fewer_or_other_requests_fails_the_replay() {
    let w = World::new();
    recorded(&w);
    let skill = w.path(".skillet/skills/review.json");
    let text = std::fs::read_to_string(&skill).unwrap();
    // No follow-up: one answer, no summary, where three requests were recorded.
    std::fs::write(&skill, text.replace("\\nhow to test it?", "")).unwrap();
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the conversation ended after 1 of the 3 recorded requests"),
        "{out}"
    );
    // A different follow-up: the second request names its message.
    std::fs::write(&skill, text.replace("how to test it?", "and the docs?")).unwrap();
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("request 2 differs"), "{out}");
    assert!(out.contains("message 3 (user)"), "{out}");
    assert!(
        out.contains("-how to test it?") && out.contains("+and the docs?"),
        "{out}"
    );
}

#[test]
fn without_a_cassette_the_test_fails_with_the_hint_and_nothing_is_sent() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    answering(&llm, three_answers());
    review_with_test(&w);
    let (code, out, err) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("FAIL  review #1 finds the bug: cassette: no cassette recorded yet"),
        "{out}"
    );
    assert!(
        out.contains("record one with `skillet test --record review`"),
        "{out}"
    );
    assert!(
        llm.bodies().is_empty(),
        "the model was called without --record"
    );
    assert!(!w.path(CASSETTE).exists());
}

#[test]
fn the_cassette_holds_no_key_and_a_conversation_quoting_it_is_not_kept() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "anthropic", "");
    llm.mount(
        Mock::given(method("POST"))
            .and(path("/v1/messages"))
            .respond_with(Sequence::new(vec![
                anthropic_answer("It subtracts."),
                anthropic_answer("Add a test."),
                anthropic_answer("Fix add."),
            ])),
    );
    review_with_test(&w);
    let (code, out, err) = skillet(&w, &["test", "review", "--record"], None);
    assert_eq!(code, 0, "{out}{err}");
    // The key went to the server, in its header...
    assert_eq!(llm.requests()[0].headers.get("x-api-key").unwrap(), KEY);
    // ...and nowhere into the cassette: no key, no header.
    let kept = cassette(&w);
    assert!(!kept.contains(KEY), "{kept}");
    for header in ["x-api-key", "authorization", "bearer"] {
        assert!(!kept.to_lowercase().contains(header), "{kept}");
    }

    // A context file quoting the key: the recording is refused, the old cassette stays.
    w.write("src/secret.rs", &format!("const KEY: &str = \"{KEY}\";\n"));
    let (code, out, err) = skillet(&w, &["test", "review", "--record"], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(
            "ERROR review #1 finds the bug: the recorded conversation contains the API key"
        ),
        "{out}"
    );
    assert_eq!(cassette(&w), kept);
    // An answer quoting it: refused too.
    std::fs::remove_file(w.path("src/secret.rs")).unwrap();
    let llm2 = Llm::start();
    let toml = w.path("~/.config/skillet/skillet.toml");
    std::fs::remove_file(&toml).unwrap();
    llm2.configure(&w, "openai", "");
    answering(&llm2, vec![openai_answer(&["the key is ", KEY])]);
    let (code, out, err) = skillet(&w, &["test", "review", "--record"], None);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("contains the API key"), "{out}");
    assert_eq!(cassette(&w), kept);
}

#[test]
fn json_and_junit_report_replays_and_recordings() {
    let w = World::new();
    let llm = Llm::start();
    llm.configure(&w, "openai", "");
    answering(&llm, three_answers());
    review_with_test(&w);
    let (code, out, err) = skillet(&w, &["test", "review", "--record", "--json"], None);
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["tests"][0]["outcome"], "passed");
    assert!(
        report["tests"][0]["cassette_written"]
            .as_str()
            .unwrap()
            .ends_with("__cassettes__/review-1.json"),
        "{report}"
    );
    assert_eq!(report["tests"][0]["observed"]["stdout"], "Fix add.\n");
    drop(llm);

    w.write(
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 { a + b }\n",
    );
    let (code, out, _) = skillet(&w, &["test", "review", "--json"], None);
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let test = &report["tests"][0];
    assert_eq!(test["outcome"], "failed");
    assert_eq!(test["mismatches"][0]["field"], "cassette");
    let message = test["mismatches"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("context file src/lib.rs changed"),
        "{message}"
    );
    assert!(
        test["mismatches"][0]["diff"]
            .as_str()
            .unwrap()
            .contains("+pub fn add(a: i32, b: i32) -> i32 { a + b }"),
        "{test}"
    );
    assert_eq!(report["summary"]["failed"], 1);

    let (code, out, err) = skillet(&w, &["test", "review", "--junit", "report.xml"], None);
    assert_eq!(code, 1, "{out}{err}");
    let script = "import sys, xml.etree.ElementTree as ET\n\
        root = ET.parse(sys.argv[1]).getroot()\n\
        print(root.get('tests'), root.get('failures'), root.get('skipped'))\n\
        for f in root.iter('failure'):\n\
        \x20   print(f.get('message'))\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(w.path("report.xml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("1 1 0\n"), "{text}");
    assert!(text.contains("context file src/lib.rs changed"), "{text}");
    assert!(text.contains("skillet test --record review"), "{text}");
}

#[test]
fn hostile_cassettes_are_refused_never_followed() {
    let w = World::new();
    recorded(&w);
    let good = cassette(&w);
    let outside = w.tmp.path().join("outside.json");
    std::fs::write(&outside, &good).unwrap();

    // A link to a file elsewhere: not read.
    std::fs::remove_file(w.path(CASSETTE)).unwrap();
    std::os::unix::fs::symlink(&outside, w.path(CASSETTE)).unwrap();
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not a plain file or folder"), "{out}");

    // Past the bound: refused before it is read.
    std::fs::remove_file(w.path(CASSETTE)).unwrap();
    let big = good.replacen(
        "\"It subtracts.\"",
        &format!("\"{}\"", "x".repeat(4 << 20)),
        1,
    );
    std::fs::write(w.path(CASSETTE), big).unwrap();
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("more than the 4194304 a cassette may hold"),
        "{out}"
    );

    // Not a cassette: said so, with the way out.
    std::fs::write(w.path(CASSETTE), "{\"format\": 1}").unwrap();
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not a cassette skillet can read"), "{out}");

    // A cassette whose answers were edited replays what it says, but a request edited in it
    // no longer matches: the cassette cannot be made to pass a skill that changed.
    std::fs::write(
        w.path(CASSETTE),
        good.replace(
            "Review src/lib.rs for bugs.",
            "Review src/lib.rs for nothing.",
        ),
    )
    .unwrap();
    let (code, out, _) = skillet(&w, &["test", "review"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("message 1 (user)"), "{out}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), good);
}

/// SHA-256 in hex, by the system's `sha256sum`: the test does not trust skillet's own hashing.
fn sha256_hex(bytes: &[u8]) -> String {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), bytes).unwrap();
    let out = Command::new("sha256sum").arg(tmp.path()).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
