//! Each provider against a real HTTP server on 127.0.0.1 speaking its wire format: the exact
//! request skillet sends, the streamed answer it reads, and every failure a server can cause.

use std::time::Duration;

use serde_json::{Value, json};
use skillet_llm::{
    ApiKey, ChatRequest, LlmError, Message, ProviderConfig, ProviderKind, Reply, connect,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-test-5f1e2d3c4b5a";

fn sse(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_owned(), "text/event-stream")
}

fn request() -> ChatRequest {
    ChatRequest {
        system: Some("You review Rust code.".into()),
        messages: vec![
            Message::user("<file path=\"src/lib.rs\">\nfn main() {}\n</file>\n\nReview this."),
            Message::assistant("It is empty."),
            Message::user("Anything else?"),
        ],
    }
}

fn config(kind: ProviderKind, server: &MockServer) -> ProviderConfig {
    let mut config = ProviderConfig::new(kind, "test-model").with_base_url(server.uri() + "/v1");
    config.api_key = Some(ApiKey::new(KEY));
    config.max_tokens = 256;
    config
}

async fn chat(config: &ProviderConfig) -> (Result<Reply, LlmError>, Vec<String>) {
    let provider = connect(config).expect("client");
    let mut pieces = Vec::new();
    let result = provider
        .chat(&request(), &mut |text| pieces.push(text.to_owned()))
        .await;
    (result, pieces)
}

async fn sent_body(server: &MockServer) -> Value {
    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 1, "one request");
    serde_json::from_slice(&requests[0].body).expect("json body")
}

const OPENAI_STREAM: &str = "\
data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}

data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Add \"},\"finish_reason\":null}]}

data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tests.\"},\"finish_reason\":null}]}

data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":31,\"completion_tokens\":3,\"total_tokens\":34}}

data: [DONE]

";

#[tokio::test]
async fn openai_sends_the_system_prompt_first_and_streams_the_answer() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(sse(OPENAI_STREAM))
        .mount(&server)
        .await;

    let (result, pieces) = chat(&config(ProviderKind::OpenAi, &server)).await;
    let reply = result.expect("answer");

    assert_eq!(pieces, ["Add ", "tests."]);
    assert_eq!(reply.text, "Add tests.");
    assert_eq!(reply.stop_reason.as_deref(), Some("stop"));
    let usage = reply.usage.expect("usage");
    assert_eq!((usage.input_tokens, usage.output_tokens), (31, 3));
    assert_eq!(
        sent_body(&server).await,
        json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": "You review Rust code."},
                {"role": "user", "content": "<file path=\"src/lib.rs\">\nfn main() {}\n</file>\n\nReview this."},
                {"role": "assistant", "content": "It is empty."},
                {"role": "user", "content": "Anything else?"},
            ],
            "max_tokens": 256,
            "stream": true,
        })
    );
}

#[tokio::test]
async fn openai_without_a_key_sends_no_authorization() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(sse(OPENAI_STREAM))
        .mount(&server)
        .await;
    let mut config = config(ProviderKind::OpenAi, &server);
    config.api_key = None;
    let (result, _) = chat(&config).await;
    result.expect("answer");
    let requests = server.received_requests().await.expect("recording");
    assert!(requests[0].headers.get("authorization").is_none());
}

const ANTHROPIC_STREAM: &str = "\
event: message_start
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"test-model\",\"stop_reason\":null,\"usage\":{\"input_tokens\":40,\"output_tokens\":1}}}

event: content_block_start
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}

event: ping
data: {\"type\": \"ping\"}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Split \"}}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"main.\"}}

event: content_block_stop
data: {\"type\":\"content_block_stop\",\"index\":0}

event: message_delta
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":4}}

event: message_stop
data: {\"type\":\"message_stop\"}

";

#[tokio::test]
async fn anthropic_sends_system_apart_and_streams_text_deltas() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .respond_with(sse(ANTHROPIC_STREAM))
        .mount(&server)
        .await;

    let (result, pieces) = chat(&config(ProviderKind::Anthropic, &server)).await;
    let reply = result.expect("answer");

    assert_eq!(pieces, ["Split ", "main."]);
    assert_eq!(reply.text, "Split main.");
    assert_eq!(reply.stop_reason.as_deref(), Some("end_turn"));
    let usage = reply.usage.expect("usage");
    assert_eq!((usage.input_tokens, usage.output_tokens), (40, 4));
    assert_eq!(
        sent_body(&server).await,
        json!({
            "model": "test-model",
            "max_tokens": 256,
            "system": "You review Rust code.",
            "messages": [
                {"role": "user", "content": "<file path=\"src/lib.rs\">\nfn main() {}\n</file>\n\nReview this."},
                {"role": "assistant", "content": "It is empty."},
                {"role": "user", "content": "Anything else?"},
            ],
            "stream": true,
        })
    );
}

#[tokio::test]
async fn a_rate_limit_is_retryable_and_says_how_long_to_wait() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2").set_body_json(
            json!({"error": {"message": "Rate limit reached for requests", "type": "requests"}}),
        ))
        .mount(&server)
        .await;
    let (result, pieces) = chat(&config(ProviderKind::OpenAi, &server)).await;
    let error = result.expect_err("429");
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
    assert!(pieces.is_empty());
    let message = error.to_string();
    assert!(message.contains("429"), "{message}");
    assert!(
        message.contains("Rate limit reached for requests"),
        "{message}"
    );
}

#[tokio::test]
async fn a_server_error_is_retryable_and_a_refused_key_is_not() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream crashed"))
        .mount(&server)
        .await;
    let (result, _) = chat(&config(ProviderKind::Anthropic, &server)).await;
    let error = result.expect_err("500");
    assert!(error.is_retryable());
    assert!(error.to_string().contains("upstream crashed"), "{error}");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"}
        })))
        .mount(&server)
        .await;
    let (result, _) = chat(&config(ProviderKind::Anthropic, &server)).await;
    let error = result.expect_err("401");
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(message.contains("invalid x-api-key"), "{message}");
    assert!(
        message.contains("api_key_env"),
        "says where the key comes from: {message}"
    );
    assert!(!message.contains(KEY), "the key never appears: {message}");
    assert!(!format!("{error:?}").contains(KEY));
}

#[tokio::test]
async fn a_malformed_stream_is_an_error_naming_the_bad_event() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sse(
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hal\"}}]}\n\ndata: {not json\n\n",
        ))
        .mount(&server)
        .await;
    let (result, pieces) = chat(&config(ProviderKind::OpenAi, &server)).await;
    let error = result.expect_err("malformed");
    assert!(!error.is_retryable());
    assert_eq!(pieces, ["Hal"]);
    assert_eq!(
        error.streamed(),
        3,
        "the caller knows text was already shown"
    );
    let message = error.to_string();
    assert!(message.contains("chat.completion.chunk"), "{message}");
    assert!(message.contains("{not json"), "{message}");
}

#[tokio::test]
async fn a_stream_cut_short_is_a_passing_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sse(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n",
        ))
        .mount(&server)
        .await;
    let (result, _) = chat(&config(ProviderKind::Anthropic, &server)).await;
    let error = result.expect_err("cut short");
    assert!(error.is_retryable());
    assert!(error.to_string().contains("message_stop"), "{error}");
}

#[tokio::test]
async fn an_overloaded_error_event_is_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sse(
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        ))
        .mount(&server)
        .await;
    let (result, _) = chat(&config(ProviderKind::Anthropic, &server)).await;
    let error = result.expect_err("overloaded");
    assert!(error.is_retryable());
    assert!(
        error.to_string().contains("overloaded_error: Overloaded"),
        "{error}"
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sse(OPENAI_STREAM).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let mut config = config(ProviderKind::OpenAi, &server);
    config.timeout = Duration::from_millis(300);
    let (result, _) = chat(&config).await;
    let error = result.expect_err("timeout");
    assert!(matches!(error, LlmError::Timeout { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(error.to_string().contains("timeout_secs"), "{error}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_connect_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let config = ProviderConfig::new(ProviderKind::OpenAi, "m")
        .with_base_url(format!("http://127.0.0.1:{port}/v1"));
    let (result, _) = chat(&config).await;
    let error = result.expect_err("refused");
    assert!(matches!(error, LlmError::Connect { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}

#[test]
fn a_key_never_prints() {
    let mut config = ProviderConfig::new(ProviderKind::Anthropic, "m");
    config.api_key = Some(ApiKey::new(KEY));
    assert!(!format!("{config:?}").contains(KEY));
}

#[tokio::test]
async fn a_server_that_wants_max_completion_tokens_gets_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_partial_json(json!({"max_tokens": 256})))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            "type": "invalid_request_error", "param": "max_tokens", "code": "unsupported_parameter"}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::body_partial_json(
            json!({"max_completion_tokens": 256}),
        ))
        .respond_with(sse(OPENAI_STREAM))
        .mount(&server)
        .await;
    let provider = connect(&config(ProviderKind::OpenAi, &server)).expect("client");
    for _ in 0..2 {
        let reply = provider
            .chat(&request(), &mut |_| {})
            .await
            .expect("answer");
        assert_eq!(reply.text, "Add tests.");
    }
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("json"))
        .collect();
    assert_eq!(bodies.len(), 3, "one refusal, then the right form for both");
    assert!(bodies[1].get("max_tokens").is_none());
    assert_eq!(bodies[2]["max_completion_tokens"], 256);
}
