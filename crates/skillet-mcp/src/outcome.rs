//! What an agent gets back from a tool call.
//!
//! A skill that fails is still an answer, not a protocol error: the result has `isError` set and
//! a message the model can act on (the status, the exit code, the error, the end of stderr).
//! The full record, as `skillet run --json` prints it, is the `structuredContent`, which MCP
//! lets a tool send only when it declares an `outputSchema`: the schemas here are the ones the
//! catalog declares, each tool with the schema of the result it gives.

use rmcp::model::{CallToolResult, ContentBlock as Content, JsonObject};
use serde::Serialize;
use serde_json::{Value, json};
use skillet_engine::conversation::{ConversationError, ConversationOutcome};
use skillet_engine::session::{Reply, TurnOutcome};
use skillet_engine::{ExecutionResult, Hint, Status};

/// The tool result of a conversation: its summary, and how to go on with it. The whole
/// outcome (session id, turns, model, usage) is the `structuredContent`.
pub fn from_conversation(held: Result<ConversationOutcome, ConversationError>) -> CallToolResult {
    match held {
        Ok(outcome) => {
            let mut content = vec![
                Content::text(outcome.summary.clone()),
                Content::text(format!(
                    "skillet: conversation {} ({} of at most {} answers from {}); call again with session_id and more answers to continue it",
                    outcome.session_id, outcome.turns, outcome.max_turns, outcome.model
                )),
            ];
            if !outcome.warnings.is_empty() {
                content.push(Content::text(format!(
                    "skillet: {}",
                    outcome.warnings.join("; ")
                )));
            }
            let mut answer = CallToolResult::success(content);
            answer.structured_content = serde_json::to_value(&outcome).ok();
            answer
        }
        Err(error) => {
            let mut message = error.to_string();
            if let Some(hint) = error.hint().as_ref().and_then(for_the_model) {
                message.push_str(&format!("\n{hint}"));
            }
            CallToolResult::error(vec![Content::text(message)])
        }
    }
}

/// Lines of stderr (and of stdout, for a failure) quoted in a failure's message.
const TAIL_LINES: usize = 20;

/// The tool result of one execution.
pub fn from_execution(result: &ExecutionResult) -> CallToolResult {
    let structured = serde_json::to_value(result).ok();
    let mut answer = if result.status == Status::Ok {
        let mut content = vec![Content::text(result.stdout.clone())];
        if !result.warnings.is_empty() {
            content.push(Content::text(format!(
                "skillet: {}",
                result.warnings.join("; ")
            )));
        }
        CallToolResult::success(content)
    } else {
        CallToolResult::error(vec![Content::text(failure_message(result))])
    };
    answer.structured_content = structured;
    answer
}

fn failure_message(r: &ExecutionResult) -> String {
    let mut message = match (r.status, r.exit_code) {
        (Status::Failed, Some(code)) => format!("`{}` failed with exit code {code}", r.skill),
        (Status::Timeout, _) => format!("`{}` timed out after {} ms", r.skill, r.duration_ms),
        (Status::ResourceLimit, _) => format!(
            "`{}` was stopped at its {} limit",
            r.skill,
            r.limit.unwrap_or("resource")
        ),
        (status, _) => format!("`{}` did not succeed: {}", r.skill, status.as_str()),
    };
    if let Some(error) = &r.error {
        message.push_str(&format!("\n{error}"));
    }
    if let Some(hint) = r.hint.as_ref().and_then(for_the_model) {
        message.push_str(&format!("\n{hint}"));
    }
    push_tail(&mut message, "stderr", &r.stderr);
    if r.status == Status::Failed {
        push_tail(&mut message, "stdout", &r.stdout);
    }
    for warning in &r.warnings {
        message.push_str(&format!("\nnote: {warning}"));
    }
    message
}

/// What a model can do about a refused call: a tool to call, or what to ask the user, who
/// holds the command line.
pub(crate) fn for_the_model(hint: &Hint) -> Option<String> {
    Some(match hint {
        Hint::ListSkills => "tools/list shows the skills available here".to_owned(),
        Hint::Validate { skill } => {
            format!("the user can see every error with `skillet validate {skill}`")
        }
        Hint::Enable { skill } => {
            format!(
                "the user turned it off; only they can turn it back on (`skillet enable {skill}`)"
            )
        }
        Hint::ResetBreaker { skill } => format!(
            "wait for the trial time, or ask the user to close the circuit (`skillet breaker reset {skill}`)"
        ),
        Hint::StartSession { skill } => {
            format!("call the `{skill}` tool without session_id to start a session")
        }
        Hint::Converse { skill } => format!("call the `{skill}` tool to hold the conversation"),
        Hint::Run { skill } => format!("call the `{skill}` tool to run it"),
        Hint::ResumeConversation { session_id } => {
            format!("call again with session_id {session_id} to go on with it")
        }
        Hint::ListSessions => "call without session_id to start a new conversation".to_owned(),
        Hint::NameWorkspace => {
            "the server has no project workspace; the user can start it in one".to_owned()
        }
        Hint::SandboxLayers => "this machine lacks a sandbox layer the user requires; \
             the user can see which with `skillet doctor`"
            .to_owned(),
        _ => return None,
    })
}

/// Appends the last lines of `text`, saying how many were left out.
fn push_tail(message: &mut String, name: &str, text: &str) {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    if lines.is_empty() {
        return;
    }
    let start = lines.len().saturating_sub(TAIL_LINES);
    if start > 0 {
        message.push_str(&format!(
            "\n{name} (last {TAIL_LINES} of {} lines):",
            lines.len()
        ));
    } else {
        message.push_str(&format!("\n{name}:"));
    }
    for line in &lines[start..] {
        message.push('\n');
        message.push_str(line);
    }
}

/// The structured result of a session tool.
#[derive(Debug, Serialize)]
pub struct SessionAnswer<'a> {
    /// Pass this back to continue the session.
    pub session_id: &'a str,
    /// Whether this call started the session.
    pub started: bool,
    /// The exchange, when an input was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<&'a Reply>,
}

/// The tool result of a session call.
pub fn from_session(skill: &str, answer: &SessionAnswer<'_>) -> CallToolResult {
    let structured = serde_json::to_value(answer).ok();
    let id = answer.session_id;
    let footer = format!("[session_id: {id} — pass it to `{skill}` to continue this session]");
    let mut result = match answer.reply {
        None => CallToolResult::success(vec![Content::text(format!(
            "Started a `{skill}` session.\n{footer}"
        ))]),
        Some(reply) if reply.outcome == TurnOutcome::Ok => {
            let mut content = vec![Content::text(reply.stdout.clone())];
            if !reply.stderr.trim().is_empty() {
                content.push(Content::text(format!("stderr:\n{}", reply.stderr)));
            }
            content.push(Content::text(footer));
            CallToolResult::success(content)
        }
        Some(reply) => {
            let mut message = match reply.outcome {
                TurnOutcome::Timeout => format!(
                    "the input timed out after {} ms; the session was ended",
                    reply.duration_ms
                ),
                TurnOutcome::Dead => {
                    "the interpreter exited; start a new session (call without session_id)"
                        .to_owned()
                }
                _ => "the input failed".to_owned(),
            };
            push_tail(&mut message, "stderr", &reply.stderr);
            push_tail(&mut message, "stdout", &reply.stdout);
            for note in &reply.notes {
                message.push_str(&format!("\nnote: {note}"));
            }
            CallToolResult::error(vec![Content::text(message), Content::text(footer)])
        }
    };
    result.structured_content = structured;
    result
}

/// A tool result saying the call could not be made, in words the model can act on.
pub fn refusal(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![Content::text(message.into())])
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// The `outputSchema` of a tool that runs a skill: the record of [`from_execution`].
pub fn execution_schema() -> JsonObject {
    object(json!({
        "type": "object",
        "properties": {
            "execution_id": {"type": "string", "description": "The run's id in `skillet history`."},
            "skill": {"type": "string"},
            "status": {"type": "string", "description": "ok, failed, timeout, resource_limit, …"},
            "exit_code": {"type": ["integer", "null"]},
            "stdout": {"type": "string"},
            "stderr": {"type": "string"},
            "duration_ms": {"type": "integer"},
            "truncated": {"type": "boolean"},
            "error": {"type": "string"},
            "warnings": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["execution_id", "skill", "status", "stdout", "stderr"]
    }))
}

/// The `outputSchema` of a session tool: a [`SessionAnswer`].
pub fn session_schema() -> JsonObject {
    object(json!({
        "type": "object",
        "properties": {
            "session_id": {"type": "string", "description": "Pass it back to continue the session."},
            "started": {"type": "boolean", "description": "Whether this call started the session."},
            "reply": {
                "type": "object",
                "properties": {
                    "outcome": {"type": "string"},
                    "stdout": {"type": "string"},
                    "stderr": {"type": "string"},
                    "exit_status": {"type": ["integer", "null"]},
                    "duration_ms": {"type": "integer"}
                }
            }
        },
        "required": ["session_id", "started"]
    }))
}

/// The `outputSchema` of a conversation tool: its outcome.
pub fn conversation_schema() -> JsonObject {
    object(json!({
        "type": "object",
        "properties": {
            "session_id": {"type": "string", "description": "Pass it back with more answers to continue."},
            "skill": {"type": "string"},
            "model": {"type": "string"},
            "turns": {"type": "integer"},
            "max_turns": {"type": "integer"},
            "summary": {"type": "string"},
            "last_answer": {"type": "string"}
        },
        "required": ["session_id", "summary"]
    }))
}
