//! `skillet mcp` on stdio, fed raw bytes as a broken or hostile client would send them: every
//! malformed message gets a JSON-RPC error (never silence, a crash or a hang), serving goes on
//! afterwards, and tool arguments are checked against their inputSchema without coercion.

#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use common::mcp_stdio::RawStdio;
use serde_json::{Value, json};

fn world() -> World {
    let w = World::new();
    w.skill(
        "echo",
        json!({"name": "echo", "description": "Echo a word", "type": "code_inline",
               "command": "echo", "args": ["{word}", "{times}", "{ratio}", "{loud}"],
               "parameters": [
                   {"name": "word", "type": "string", "required": true},
                   {"name": "times", "type": "integer", "default": 1},
                   {"name": "ratio", "type": "number", "default": 0.5},
                   {"name": "loud", "type": "boolean", "default": false},
                   {"name": "mode", "type": "enum", "values": ["plain", "loud"]}]}),
    );
    w.skill(
        "py",
        json!({"name": "py", "description": "Python", "type": "code_session",
               "command": common::interpreter("python3")}),
    );
    let (code, _, err) = w.run(&["trust"]);
    assert_eq!(code, 0, "{err}");
    w
}

fn assert_error(reply: &Value, code: i64, id: &Value) {
    assert_eq!(reply["error"]["code"], code, "{reply}");
    assert!(
        reply.as_object().unwrap().contains_key("id"),
        "an error reply always has an id member: {reply}"
    );
    assert_eq!(reply["id"], *id, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{reply}"
    );
}

#[test]
fn malformed_lines_get_a_json_rpc_error_and_serving_goes_on() {
    let w = world();
    let mut s = RawStdio::start(&w, &[]);
    let nested = "[".repeat(100_000);
    let null = Value::Null;
    let cases: Vec<(Vec<u8>, i64, Value)> = vec![
        (b"garbage".to_vec(), -32700, null.clone()),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":1,".to_vec(),
            -32700,
            null.clone(),
        ),
        (b"\xff\xfe\xfd".to_vec(), -32700, null.clone()),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"\xc3\"}".to_vec(),
            -32700,
            null.clone(),
        ),
        (nested.clone().into_bytes(), -32700, null.clone()),
        (
            format!("{{\"a\":{}", "{\"a\":".repeat(50_000)).into_bytes(),
            -32700,
            null.clone(),
        ),
        (
            br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#.to_vec(),
            -32600,
            null.clone(),
        ),
        (b"[]".to_vec(), -32600, null.clone()),
        (b"42".to_vec(), -32600, null.clone()),
        (b"\"tools/list\"".to_vec(), -32600, null.clone()),
        (b"null".to_vec(), -32600, null.clone()),
        (
            br#"{"id":5,"method":"tools/list"}"#.to_vec(),
            -32600,
            json!(5),
        ),
        (
            br#"{"jsonrpc":"1.0","id":6,"method":"tools/list"}"#.to_vec(),
            -32600,
            json!(6),
        ),
        (
            br#"{"jsonrpc":"2.0","id":[1],"method":"tools/list"}"#.to_vec(),
            -32600,
            null.clone(),
        ),
        (
            br#"{"jsonrpc":"2.0","id":7,"method":null}"#.to_vec(),
            -32600,
            json!(7),
        ),
        (br#"{"jsonrpc":"2.0","id":8}"#.to_vec(), -32600, json!(8)),
    ];
    for (i, (bytes, code, id)) in cases.iter().enumerate() {
        let mut line = bytes.clone();
        line.push(b'\n');
        s.raw(&line);
        let reply = s.reply();
        assert_error(&reply, *code, id);
        s.still_serving(1000 + i as i64);
    }
    // CRLF line ends and blank lines are fine.
    s.raw(b"\r\n   \n{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"ping\"}\r\n");
    assert_eq!(s.reply()["id"], 77);
}

#[test]
fn method_and_params_errors_use_their_own_codes() {
    let w = world();
    let mut s = RawStdio::start(&w, &[]);
    // An unknown method is -32601; a known one with malformed params is -32602.
    s.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/nonsense"}));
    assert_error(&s.reply(), -32601, &json!(1));
    for (id, params) in [
        (2, None),
        (3, Some(json!("tools"))),
        (4, Some(json!({"name": "echo", "arguments": "word=a"}))),
        (5, Some(json!({"name": 5}))),
        (6, Some(json!([1, 2]))),
    ] {
        let mut request = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call"});
        if let Some(params) = params {
            request["params"] = params;
        }
        s.send(&request);
        assert_error(&s.reply(), -32602, &json!(id));
    }
    // An unknown tool is invalid params too (MCP), not an unknown method.
    let reply = s.call(7, "no-such-tool", json!({}));
    assert_error(&reply, -32602, &json!(7));
    s.still_serving(8);
}

#[test]
fn over_long_lines_are_skipped_to_their_end_and_answered() {
    let w = world();
    let mut s = RawStdio::start(&w, &["--max-line-bytes", "4096"]);
    let long = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\",\"arguments\":{{\"word\":\"{}\"}}}}}}\n",
        "a".repeat(1 << 20)
    );
    s.raw(long.as_bytes());
    let reply = s.reply();
    assert_error(&reply, -32600, &Value::Null);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-line-bytes"),
        "{reply}"
    );
    s.still_serving(2);
    // Just under the limit is read.
    let fits = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\",\"arguments\":{{\"word\":\"{}\"}}}}}}\n",
        "b".repeat(3000)
    );
    s.raw(fits.as_bytes());
    let reply = s.reply();
    assert_eq!(reply["id"], 3, "{reply}");
    assert!(reply["result"].is_object(), "{reply}");
}

#[test]
fn the_default_line_limit_is_four_mib() {
    let w = world();
    let mut s = RawStdio::start(&w, &[]);
    // 5 MiB of one line, sent in pieces: refused once, without waiting for more.
    let piece = vec![b'x'; 1 << 20];
    for _ in 0..5 {
        s.raw(&piece);
    }
    s.raw(b"\n");
    assert_error(&s.reply(), -32600, &Value::Null);
    s.still_serving(1);
}

#[test]
fn arguments_are_checked_against_the_input_schema_without_coercion() {
    let w = world();
    let mut s = RawStdio::start(&w, &[]);
    let refused = [
        json!({"word": "a", "times": "2"}),
        json!({"word": "a", "times": 2.5}),
        json!({"word": "a", "times": true}),
        json!({"word": "a", "times": null}),
        json!({"word": "a", "ratio": "0.5"}),
        json!({"word": 2}),
        json!({"word": 2.0}),
        json!({"word": true}),
        json!({"word": null}),
        json!({"word": ["a"]}),
        json!({"word": {"a": 1}}),
        json!({"word": "a", "loud": "true"}),
        json!({"word": "a", "loud": 0}),
        json!({"word": "a", "mode": "LOUD"}),
        json!({"word": "a", "colour": "red"}),
        json!({"times": 1}),
        json!({}),
    ];
    for (i, arguments) in refused.iter().enumerate() {
        let reply = s.call(i as i64, "echo", arguments.clone());
        assert_error(&reply, -32602, &json!(i));
    }
    // Session tools' own arguments are strings; null is not allowed where the schema says string.
    for (i, arguments) in [
        json!({"input": 1}),
        json!({"session_id": null}),
        json!({"input": "1", "session_id": 5}),
    ]
    .iter()
    .enumerate()
    {
        let reply = s.call(100 + i as i64, "py", arguments.clone());
        assert_error(&reply, -32602, &json!(100 + i));
    }
    let ok = s.call(
        200,
        "echo",
        json!({"word": "a", "times": 2.0, "ratio": 1, "loud": true}),
    );
    assert_eq!(ok["result"]["isError"], false, "{ok}");
    assert_eq!(ok["result"]["content"][0]["text"], "a 2 1 true\n", "{ok}");
}

#[test]
fn structured_content_goes_only_with_an_output_schema() {
    let w = world();
    let mut s = RawStdio::start(&w, &[]);
    s.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
    let tools = s.reply()["result"]["tools"].as_array().unwrap().clone();
    let schema_of = |name: &str| {
        tools
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .get("outputSchema")
            .cloned()
    };
    let calls = [
        ("echo", json!({"word": "a"})),
        ("py", json!({"input": "print(1)"})),
        ("py.close", json!({"session_id": "nope"})),
    ];
    let mut session = None;
    for (i, (tool, arguments)) in calls.iter().enumerate() {
        let reply = s.call(10 + i as i64, tool, arguments.clone());
        let result = &reply["result"];
        if let Some(id) = result["structuredContent"]["session_id"].as_str() {
            session = Some(id.to_owned());
        }
        match schema_of(tool) {
            Some(schema) => {
                assert_eq!(schema["type"], "object", "{tool}: {schema}");
                if result["isError"] == false {
                    assert!(result["structuredContent"].is_object(), "{tool}: {reply}");
                }
            }
            None => assert!(
                result.get("structuredContent").is_none(),
                "{tool} declares no outputSchema but sent structuredContent: {reply}"
            ),
        }
    }
    assert!(schema_of("echo").is_some() && schema_of("py").is_some());
    assert!(schema_of("py.close").is_none());
    let closed = s.call(20, "py.close", json!({"session_id": session.unwrap()}));
    assert_eq!(closed["result"]["isError"], false, "{closed}");
    assert!(
        closed["result"].get("structuredContent").is_none(),
        "{closed}"
    );
}

#[test]
fn an_empty_session_id_counts_as_left_out_and_never_names_a_live_session() {
    let w = world();
    let mut s = RawStdio::start(&w, &[]);
    let first = s.call(1, "py", json!({"input": "secret = 'mine'"}));
    let mine = first["result"]["structuredContent"]["session_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    // An agent filling the optional argument with "": a session of its own, not the live one.
    let other = s.call(2, "py", json!({"input": "print(secret)", "session_id": ""}));
    let text = other["result"].to_string();
    assert!(
        !text.contains("mine") && text.contains("NameError"),
        "{other}"
    );
    assert_ne!(
        other["result"]["structuredContent"]["session_id"],
        mine.as_str()
    );
    let close = s.call(3, "py.close", json!({"session_id": ""}));
    assert_eq!(close["result"]["isError"], true, "{close}");
    assert!(close.to_string().contains("empty session_id"), "{close}");
    let again = s.call(
        4,
        "py",
        json!({"input": "print(secret)", "session_id": mine}),
    );
    assert!(again["result"].to_string().contains("mine"), "{again}");
}
