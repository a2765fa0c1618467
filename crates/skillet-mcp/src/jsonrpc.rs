//! Screening one incoming JSON-RPC message before rmcp sees it, shared by both transports.
//!
//! rmcp drops unparsable input without a word, answers a malformed message with an error that
//! has no `id` member, and takes a known method with malformed params for an unknown method.
//! A client then waits forever or is told the wrong thing, so every message is checked here
//! first and anything wrong gets the JSON-RPC 2.0 answer: -32700 for bytes that are not JSON,
//! -32600 for JSON that is not a request, -32602 for a known method with bad params (an unknown
//! method still reaches rmcp, which answers -32601).

use rmcp::model::{
    CallToolRequestMethod, CancelTaskMethod, ClientJsonRpcMessage, ClientRequest,
    CompleteRequestMethod, ConstString, DiscoverRequestMethod, GetPromptRequestMethod,
    GetSkillRequestMethod, GetTaskMethod, InitializeResultMethod, ListPromptsRequestMethod,
    ListResourceTemplatesRequestMethod, ListResourcesRequestMethod, ListSkillsRequestMethod,
    ListToolsRequestMethod, PingRequestMethod, ReadResourceDirectoryRequestMethod,
    ReadResourceRequestMethod, SetLevelRequestMethod, SubscribeRequestMethod,
    SubscriptionsListenRequestMethod, UnsubscribeRequestMethod, UpdateTaskMethod,
};
use serde_json::{Value, json};

/// JSON-RPC: the bytes are not JSON.
pub const PARSE_ERROR: i32 = -32700;
/// JSON-RPC: the JSON is not a valid request.
pub const INVALID_REQUEST: i32 = -32600;
/// JSON-RPC: the method exists but its params are wrong.
pub const INVALID_PARAMS: i32 = -32602;

/// The methods a client may call. One of these whose params do not fit falls through rmcp's
/// parsing to "custom request", which it would answer as an unknown method.
const KNOWN_METHODS: &[&str] = &[
    PingRequestMethod::VALUE,
    InitializeResultMethod::VALUE,
    DiscoverRequestMethod::VALUE,
    CompleteRequestMethod::VALUE,
    SetLevelRequestMethod::VALUE,
    GetPromptRequestMethod::VALUE,
    ListPromptsRequestMethod::VALUE,
    ListResourcesRequestMethod::VALUE,
    ListResourceTemplatesRequestMethod::VALUE,
    ReadResourceRequestMethod::VALUE,
    SubscriptionsListenRequestMethod::VALUE,
    SubscribeRequestMethod::VALUE,
    UnsubscribeRequestMethod::VALUE,
    CallToolRequestMethod::VALUE,
    ListToolsRequestMethod::VALUE,
    GetTaskMethod::VALUE,
    UpdateTaskMethod::VALUE,
    CancelTaskMethod::VALUE,
    ListSkillsRequestMethod::VALUE,
    GetSkillRequestMethod::VALUE,
    ReadResourceDirectoryRequestMethod::VALUE,
];

/// What to do with one incoming message.
#[derive(Debug)]
pub(crate) enum Screened {
    /// A well-formed message, for rmcp.
    Message(Box<ClientJsonRpcMessage>),
    /// A message answered with this error, and not passed on.
    Reject(Rejection),
    /// A malformed notification: JSON-RPC never answers a notification, so it is dropped.
    Drop,
}

/// A JSON-RPC error answer to a message that was not passed on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rejection {
    /// The request's id when it could be read, else `null`.
    pub id: Value,
    /// The JSON-RPC error code.
    pub code: i32,
    /// What was wrong and what to send instead.
    pub message: String,
}

impl Rejection {
    pub(crate) fn new(id: Value, code: i32, message: impl Into<String>) -> Rejection {
        Rejection {
            id,
            code,
            message: message.into(),
        }
    }

    /// The error response, with `id` always present (`null` when unknown), as JSON-RPC asks.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": {"code": self.code, "message": self.message},
        })
    }

    /// The response as bytes, without a line end.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Serialising a `Value` built from strings and numbers cannot fail.
        serde_json::to_vec(&self.to_json()).unwrap_or_default()
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Checks one message (a stdio line or an HTTP body) and parses it.
pub(crate) fn screen(bytes: &[u8]) -> Screened {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Screened::Reject(Rejection::new(
                Value::Null,
                PARSE_ERROR,
                format!(
                    "parse error: the message is not UTF-8 (bad byte at offset {}); send UTF-8 JSON",
                    e.valid_up_to()
                ),
            ));
        }
    };
    // serde_json stops at 128 levels of nesting, so deep input is an error, not a stack overflow.
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            return Screened::Reject(Rejection::new(
                Value::Null,
                PARSE_ERROR,
                format!("parse error: the message is not valid JSON ({e})"),
            ));
        }
    };
    let object = match &value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Screened::Reject(Rejection::new(
                Value::Null,
                INVALID_REQUEST,
                "invalid request: JSON-RPC batches (arrays) are not part of MCP; send one message at a time",
            ));
        }
        _ => {
            return Screened::Reject(Rejection::new(
                Value::Null,
                INVALID_REQUEST,
                "invalid request: a JSON-RPC message is an object with \"jsonrpc\": \"2.0\"",
            ));
        }
    };
    let id = object.get("id");
    let id_ok = match id {
        None => true,
        Some(Value::String(_)) => true,
        Some(Value::Number(n)) => n.is_i64(),
        Some(_) => false,
    };
    let reply_id = match id {
        Some(id) if id_ok => id.clone(),
        _ => Value::Null,
    };
    let reject =
        |code, message: String| Screened::Reject(Rejection::new(reply_id.clone(), code, message));
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return reject(
            INVALID_REQUEST,
            "invalid request: the message must carry \"jsonrpc\": \"2.0\"".to_owned(),
        );
    }
    if !id_ok {
        return reject(
            INVALID_REQUEST,
            "invalid request: `id` must be a string or an integer".to_owned(),
        );
    }
    let method = match object.get("method") {
        None => None,
        Some(Value::String(m)) => Some(m.clone()),
        Some(_) => {
            return reject(
                INVALID_REQUEST,
                "invalid request: `method` must be a string".to_owned(),
            );
        }
    };
    let known = method
        .as_deref()
        .is_some_and(|m| KNOWN_METHODS.contains(&m));
    let has_id = id.is_some();
    match serde_json::from_value::<ClientJsonRpcMessage>(value) {
        Ok(ClientJsonRpcMessage::Request(request))
            if known && matches!(request.request, ClientRequest::CustomRequest(_)) =>
        {
            reject(INVALID_PARAMS, bad_params(method.as_deref(), None))
        }
        Ok(message) => Screened::Message(Box::new(message)),
        Err(_) if method.is_some() && !has_id => Screened::Drop,
        Err(e) if known => reject(INVALID_PARAMS, bad_params(method.as_deref(), Some(&e))),
        Err(e) => reject(
            INVALID_REQUEST,
            format!("invalid request: neither a request, a notification nor a response ({e})"),
        ),
    }
}

/// Whether `message` is an `initialize` request.
pub(crate) fn is_initialize(message: &ClientJsonRpcMessage) -> bool {
    matches!(message, ClientJsonRpcMessage::Request(r)
        if matches!(r.request, ClientRequest::InitializeRequest(_)))
}

/// Whether `message` starts a connection's lifecycle: `initialize`, or a request that carries
/// its protocol version in `_meta` (the inline lifecycle of 2026-07-28). Until one has, rmcp
/// takes nothing but requests: a notification or a response would end the connection.
pub(crate) fn opens_lifecycle(message: &ClientJsonRpcMessage) -> bool {
    use rmcp::model::GetMeta as _;
    match message {
        ClientJsonRpcMessage::Request(r) => {
            matches!(r.request, ClientRequest::InitializeRequest(_))
                || r.request.get_meta().protocol_version().is_some()
        }
        _ => false,
    }
}

/// The answer to an `initialize` on a connection that has already been initialized.
///
/// rmcp would take a second one and replace what the first negotiated with the raw request, so
/// a client (or garbage on its stdin) naming a newer protocol turns `ping` and the rest of the
/// session into something else. MCP sends `initialize` once, first; a repeat is refused.
pub(crate) fn repeated_initialize(message: &ClientJsonRpcMessage) -> Option<Rejection> {
    let ClientJsonRpcMessage::Request(request) = message else {
        return None;
    };
    if !matches!(request.request, ClientRequest::InitializeRequest(_)) {
        return None;
    }
    let id = serde_json::to_value(&request.id).unwrap_or(Value::Null);
    Some(Rejection::new(
        id,
        INVALID_REQUEST,
        "invalid request: this connection is already initialized; `initialize` is sent once, as the first request (start a new connection to begin again)",
    ))
}

fn bad_params(method: Option<&str>, error: Option<&serde_json::Error>) -> String {
    let method = method.unwrap_or_default();
    match error {
        Some(e) => format!("invalid params for `{method}`: {e}"),
        None => format!(
            "invalid params for `{method}`: they do not have the shape the MCP specification gives this method"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(bytes: &[u8]) -> Rejection {
        match screen(bytes) {
            Screened::Reject(r) => r,
            other => panic!(
                "{} was not rejected: {other:?}",
                String::from_utf8_lossy(bytes)
            ),
        }
    }

    #[test]
    fn bytes_that_are_not_json_are_parse_errors_with_a_null_id() {
        let nested = "[".repeat(100_000);
        for bytes in [
            &b"garbage"[..],
            b"\xff\xfe{}",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"",
            nested.as_bytes(),
            b"{\"a\":\"\xc3\"}",
        ] {
            let r = rejected(bytes);
            assert_eq!(r.code, PARSE_ERROR, "{r:?}");
            assert_eq!(r.to_json()["id"], Value::Null);
            assert!(r.to_json().as_object().unwrap().contains_key("id"));
        }
    }

    #[test]
    fn json_that_is_not_a_request_is_an_invalid_request() {
        for (bytes, id) in [
            (
                &br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#[..],
                Value::Null,
            ),
            (b"5", Value::Null),
            (b"\"ping\"", Value::Null),
            (b"null", Value::Null),
            (br#"{"id":3,"method":"ping"}"#, json!(3)),
            (br#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#, json!("a")),
            (
                br#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#,
                Value::Null,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
                Value::Null,
            ),
            (br#"{"jsonrpc":"2.0","id":7,"method":5}"#, json!(7)),
            (br#"{"jsonrpc":"2.0","id":8}"#, json!(8)),
        ] {
            let r = rejected(bytes);
            assert_eq!(r.code, INVALID_REQUEST, "{r:?}");
            assert_eq!(r.id, id, "{r:?}");
        }
    }

    #[test]
    fn a_known_method_with_bad_params_is_invalid_params_not_an_unknown_method() {
        for bytes in [
            &br#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#[..],
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":"y"}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{}}"#,
        ] {
            let r = rejected(bytes);
            assert_eq!(r.code, INVALID_PARAMS, "{r:?}");
            assert_eq!(r.id, json!(1));
        }
    }

    #[test]
    fn good_messages_and_unknown_methods_pass() {
        for bytes in [
            &br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#[..],
            b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/list\"}",
            br#"{"jsonrpc":"2.0","id":2,"method":"no/such"}"#,
            br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a","arguments":{"n":1}}}"#,
        ] {
            assert!(
                matches!(screen(bytes), Screened::Message(_)),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
