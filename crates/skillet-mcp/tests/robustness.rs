//! No panic on any input (issue 18): MCP JSON-RPC messages POSTed to the real HTTP service, run on stable over the committed seeds
//! (`fuzz/corpus/<target>/`) and a bounded number of mutations of them. The same bodies are
//! cargo-fuzz targets (`fuzz/`); see docs/robustness.md. `SKILLET_FUZZ_CASES=N` runs N mutated
//! cases per target.

#[path = "../../../fuzz/bodies/input.rs"]
#[allow(dead_code)]
mod input;
#[path = "../../../fuzz/bodies/seeded.rs"]
mod seeded;

#[path = "../../../fuzz/bodies/mcp_message.rs"]
mod mcp_message;

#[test]
fn mcp_messages_never_panic_and_every_refusal_is_json_rpc() {
    seeded::check("mcp_message", 1500, mcp_message::run);
}

/// The fuzzing above proves something only if its bodies reach the screening and rmcp.
#[test]
fn the_harness_reaches_the_server() {
    let addr = mcp_message::server();
    let seed = |name: &str| {
        std::fs::read(format!(
            "{}/../../fuzz/corpus/mcp_message/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("a seed")
    };
    let (status, head, body) = mcp_message::post(addr, &seed("initialize.json"), None);
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{head}{text}");
    assert!(text.contains("\"serverInfo\""), "{text}");
    let (status, _, body) = mcp_message::post(addr, b"{not json", None);
    assert_eq!(status, 400);
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("a JSON-RPC error");
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    // A tool call reaches the skill.
    let session = mcp_message::open_session(addr);
    let (status, _, body) = mcp_message::post(addr, &seed("tools-call.json"), Some(&session));
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Hello"), "the tool call did not run: {text}");
    let call = br#"{"jsonrpc":"2.0","id":"t","method":"tools/call","params":{"name":"typed","arguments":{"n":9}}}"#;
    let (_, _, body) = mcp_message::post(addr, call, Some(&session));
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("at most 3"),
        "the arguments were not checked: {text}"
    );
}

/// A second `initialize` in a session is refused, and the session keeps what it negotiated:
/// rmcp would otherwise adopt the repeat's protocol version, and one naming a newer protocol
/// turned the session's `ping` into "method not found" (found by the stdio fuzzing).
#[test]
fn a_session_is_initialized_once() {
    let addr = mcp_message::server();
    let session = mcp_message::open_session(addr);
    for version in ["2026-07-28", "9999-12-31", "2025-06-18"] {
        let again = serde_json::json!({"jsonrpc": "2.0", "id": "again", "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {},
                       "clientInfo": {"name": "x", "version": "1"}}});
        let (status, _, body) =
            mcp_message::post(addr, again.to_string().as_bytes(), Some(&session));
        let answer: serde_json::Value = serde_json::from_slice(&body).expect("a JSON-RPC error");
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], -32600, "{answer}");
        assert_eq!(answer["id"], "again", "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("already initialized")),
            "{answer}"
        );
        let ping = br#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#;
        let (status, _, body) = mcp_message::post(addr, ping, Some(&session));
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("\"result\""), "ping after {version}: {text}");
    }
}
