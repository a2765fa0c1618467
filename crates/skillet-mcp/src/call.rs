//! Carrying out one tool call: a run, a session exchange, a session's end or a conversation.

use rmcp::model::{CallToolResult, JsonObject};
use serde_json::Value;
use skillet_engine::conversation::{ConversationRequest, ScriptedAnswers};
use skillet_engine::session::{SessionError, SessionStart};
use skillet_engine::{AskedBy, RunRequest};

use crate::arguments::ArgumentError;
use crate::catalog::{ANSWERS_ARG, INPUT_ARG, SESSION_ARG, ToolTarget};
use crate::outcome::{self, SessionAnswer};
use crate::server::{SkillServer, Snapshot};

/// Where an agent's call is recorded as coming from.
const ORIGIN: &str = "mcp";

/// Who asked for a call, and how they can take it back.
pub(crate) struct Asker<'a> {
    /// The JSON-RPC request id, kept in the history.
    pub request_id: String,
    /// The client for fair share in the daemon's queue (see [`client_of`]).
    pub client: Option<String>,
    /// Cancelled when the client sends notifications/cancelled or goes away.
    pub cancelled: &'a tokio_util::sync::CancellationToken,
}

/// The client a call comes from, for fair share in the daemon's queue: its MCP session over
/// HTTP (each agent connection initializes one); `None` for a call without one (on stdio the
/// whole server is one agent's, and the daemon knows it as the process that asks).
pub(crate) fn client_of(extensions: &rmcp::model::Extensions) -> Option<String> {
    extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.headers.get("mcp-session-id"))
        .and_then(|v| v.to_str().ok())
        .map(|id| format!("mcp-session:{}", id.chars().take(128).collect::<String>()))
}

pub(crate) async fn call(
    server: &SkillServer,
    snapshot: &Snapshot,
    target: &ToolTarget,
    arguments: JsonObject,
    asker: Asker<'_>,
) -> CallToolResult {
    let cancelled = asker.cancelled;
    // The engine keeps every call in the history (a run or a conversation as an execution, a
    // session exchange as a turn of its session), tagged with where it came from; this layer
    // records nothing itself, so a call is never counted twice.
    let asked_by = AskedBy {
        origin: ORIGIN.to_owned(),
        request_id: asker.request_id,
        queue_wait_ms: None,
    };
    match target {
        ToolTarget::Run(skill) => {
            let turn = Queued {
                skill,
                client: asker.client,
            };
            run(server, snapshot, turn, arguments, asked_by, cancelled).await
        }
        ToolTarget::Session(skill) => {
            dropped_on_cancel(
                server,
                cancelled,
                session(server, snapshot, skill, arguments, asked_by),
            )
            .await
        }
        ToolTarget::CloseSession(skill) => {
            dropped_on_cancel(server, cancelled, close(server, skill, &arguments)).await
        }
        ToolTarget::Conversation(skill) => {
            let held = conversation(server, snapshot, skill, arguments, asked_by);
            dropped_on_cancel(server, cancelled, held).await
        }
    }
}

/// A run of `skill` asking for its turn for `client`.
struct Queued<'a> {
    skill: &'a str,
    client: Option<String>,
}

/// Held while a run runs: the server's own permit, or a turn in the daemon's queue; dropping
/// it frees the slot.
type Slot<'a> = Result<tokio::sync::SemaphorePermit<'a>, skillet_engine::Turn>;

/// Waits for a run's slot: in the daemon's queue when the server has one, else under the
/// server's cap. Waiting, not failing, while there is room to wait: a burst of calls is served
/// as fast as the limit allows. Answers how long it waited.
async fn slot<'a>(
    server: &'a SkillServer,
    snapshot: &Snapshot,
    queued: Queued<'_>,
) -> Result<(Slot<'a>, std::time::Duration), String> {
    let asked = std::time::Instant::now();
    if let Some(queue) = server.shared.queue.get() {
        let call = skillet_engine::QueuedRun {
            skill: queued.skill.to_owned(),
            client: queued.client,
            memory_mb: snapshot.engine.memory_mb(
                &snapshot.registry,
                queued.skill,
                &skillet_engine::RunOverrides::default(),
            ),
            // An agent's calls are answered as they come: none goes before another's.
            priority: skillet_engine::Priority::Normal,
        };
        return match queue.admit(call).await {
            Ok(turn) => {
                let waited = turn.waited;
                Ok((Err(turn), waited))
            }
            Err(no) => Err(no.reason),
        };
    }
    match server.shared.calls.acquire().await {
        Ok(permit) => Ok((Ok(permit), asked.elapsed())),
        Err(_) => Err("the server is shutting down".into()),
    }
}

/// A run is told of the client's notifications/cancelled and ends `cancelled`, recorded in the
/// history with what it had written. Cancelled while it waits for its turn, it leaves the queue
/// and never runs.
async fn run(
    server: &SkillServer,
    snapshot: &Snapshot,
    queued: Queued<'_>,
    arguments: JsonObject,
    asked_by: AskedBy,
    cancelled: &tokio_util::sync::CancellationToken,
) -> CallToolResult {
    let skill = queued.skill;
    let cancel = skillet_engine::Cancel::new();
    let mut request = RunRequest {
        params: arguments,
        caller_dir: server.caller_dir(),
        cancel: Some(cancel.clone()),
        ..RunRequest::default()
    };
    let waited = tokio::select! {
        got = slot(server, snapshot, queued) => got,
        () = cancelled.cancelled() => {
            return outcome::refusal("cancelled by the client before it started");
        }
    };
    let (_slot, waited) = match waited {
        Ok(got) => got,
        Err(message) => return outcome::refusal(message),
    };
    let run = async {
        // The history says how long the call queued for its turn.
        request.asked_by = Some(AskedBy {
            queue_wait_ms: Some(u64::try_from(waited.as_millis()).unwrap_or(u64::MAX)),
            ..asked_by
        });
        let result = snapshot
            .engine
            .run(&snapshot.registry, skill, request)
            .await;
        outcome::from_execution(&result)
    };
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => result,
        () = cancelled.cancelled() => {
            cancel.cancel("cancelled by the MCP client");
            run.await
        }
    }
}

/// Any other call waits its turn under the concurrency limit and is dropped when the client
/// cancels it, which kills its process.
async fn dropped_on_cancel(
    server: &SkillServer,
    cancelled: &tokio_util::sync::CancellationToken,
    call: impl std::future::Future<Output = CallToolResult>,
) -> CallToolResult {
    let limited = async {
        let Ok(_permit) = server.shared.calls.acquire().await else {
            return outcome::refusal("the server is shutting down");
        };
        call.await
    };
    tokio::select! {
        result = limited => result,
        () = cancelled.cancelled() => outcome::refusal("cancelled by the client"),
    }
}

/// Holds a conversation with the `answers` as the person's side, or continues the one named
/// by `session_id`. The engine keeps it in the history and as a session.
async fn conversation(
    server: &SkillServer,
    snapshot: &Snapshot,
    skill: &str,
    mut arguments: JsonObject,
    asked_by: AskedBy,
) -> CallToolResult {
    let answers = match arguments.remove(ANSWERS_ARG) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => match items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(other),
            })
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(answers) => answers,
            Err(other) => {
                return outcome::refusal(format!("`{ANSWERS_ARG}` must hold strings, not {other}"));
            }
        },
        Some(other) => {
            return outcome::refusal(format!(
                "`{ANSWERS_ARG}` must be an array of strings, not {other}"
            ));
        }
    };
    let session_id = match session_arg(&mut arguments) {
        Ok(id) => id,
        Err(e) => return outcome::refusal(e.to_string()),
    };
    let mut participant = ScriptedAnswers::new(answers);
    let engine = &snapshot.engine;
    let held = match session_id {
        Some(id) => {
            engine
                .resume_conversation(
                    &snapshot.registry,
                    &id,
                    None,
                    Some(asked_by),
                    &mut participant,
                )
                .await
        }
        None => {
            let request = ConversationRequest {
                params: arguments,
                caller_dir: server.caller_dir(),
                max_turns: None,
                asked_by: Some(asked_by),
                cache: skillet_engine::CacheUse::Use,
            };
            engine
                .converse(&snapshot.registry, skill, request, &mut participant)
                .await
        }
    };
    outcome::from_conversation(held)
}

/// Sends `input` to the session named by `session_id`, or starts one.
async fn session(
    server: &SkillServer,
    snapshot: &Snapshot,
    skill: &str,
    mut arguments: JsonObject,
    asked_by: AskedBy,
) -> CallToolResult {
    let (id, input) = match (
        session_arg(&mut arguments),
        string_arg(&mut arguments, INPUT_ARG),
    ) {
        (Ok(id), Ok(input)) => (id, input),
        (Err(e), _) | (_, Err(e)) => return outcome::refusal(e.to_string()),
    };
    let pooled = snapshot
        .registry
        .resolve(skill)
        .and_then(|e| e.spec.as_ref())
        .is_some_and(|s| skillet_engine::session::is_pooled(s));
    if pooled && id.is_none() && input.as_deref().is_some_and(|i| !i.is_empty()) {
        // Stateless, on a warm member of the skill's pool; recorded as a run.
        let request = RunRequest {
            params: arguments,
            stdin: skillet_engine::StdinSource::Bytes(input.unwrap_or_default().into_bytes()),
            caller_dir: server.caller_dir(),
            asked_by: Some(asked_by),
            ..RunRequest::default()
        };
        let result = snapshot
            .engine
            .run(&snapshot.registry, skill, request)
            .await;
        return outcome::from_execution(&result);
    }
    let sessions = &server.shared.options.sessions;
    let (id, started) = match id {
        Some(id) => {
            if !arguments.is_empty() {
                let names: Vec<&str> = arguments.keys().map(String::as_str).collect();
                return outcome::refusal(format!(
                    "parameters ({}) apply only when a session starts; leave out session_id to start a new one",
                    names.join(", ")
                ));
            }
            match sessions.info(&id) {
                Ok(record) if record.skill != skill => {
                    return outcome::refusal(format!(
                        "session {id} belongs to `{}`, not `{skill}`",
                        record.skill
                    ));
                }
                Ok(record) => (record.id, false),
                Err(e) => return outcome::refusal(session_message(skill, &e)),
            }
        }
        None => {
            let start = SessionStart {
                params: arguments,
                label: Some(ORIGIN.to_owned()),
                caller_dir: server.caller_dir(),
                ..SessionStart::default()
            };
            match sessions
                .start(&snapshot.engine, &snapshot.registry, skill, start)
                .await
            {
                Ok(record) => (record.id, true),
                Err(e) => return outcome::refusal(session_message(skill, &e)),
            }
        }
    };
    let Some(input) = input.filter(|i| !i.is_empty()) else {
        let answer = SessionAnswer {
            session_id: &id,
            started,
            reply: None,
        };
        return outcome::from_session(skill, &answer);
    };
    match sessions.send(&id, &input, ORIGIN).await {
        Ok(reply) => {
            let answer = SessionAnswer {
                session_id: &id,
                started,
                reply: Some(&reply),
            };
            outcome::from_session(skill, &answer)
        }
        Err(e) => outcome::refusal(session_message(skill, &e)),
    }
}

async fn close(server: &SkillServer, skill: &str, arguments: &JsonObject) -> CallToolResult {
    let Some(id) = arguments.get(SESSION_ARG).and_then(Value::as_str) else {
        return outcome::refusal(format!("`{SESSION_ARG}` (a string) is required"));
    };
    let sessions = &server.shared.options.sessions;
    match sessions.info(id) {
        Ok(record) if record.skill != skill => {
            return outcome::refusal(format!(
                "session {id} belongs to `{}`, not `{skill}`",
                record.skill
            ));
        }
        Ok(_) => {}
        Err(e) => return outcome::refusal(session_message(skill, &e)),
    }
    match sessions.close(id).await {
        Ok(record) => CallToolResult::success(vec![rmcp::model::ContentBlock::text(format!(
            "session {} closed after {} exchange{}",
            record.id,
            record.turns,
            if record.turns == 1 { "" } else { "s" }
        ))]),
        Err(e) => outcome::refusal(session_message(skill, &e)),
    }
}

/// A session error in the words of the tools, not of the command line.
fn session_message(skill: &str, error: &SessionError) -> String {
    match error {
        SessionError::NotFound(id) if id.is_empty() => format!(
            "an empty session_id names no session; pass the session_id of an earlier `{skill}` result"
        ),
        SessionError::NotFound(id) => {
            format!("no session `{id}`; call `{skill}` without session_id to start one")
        }
        SessionError::Over {
            id, status, reason, ..
        } => format!(
            "session {id} is {status}{}; call `{skill}` without session_id to start a new one",
            reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        SessionError::TooMany { max, .. } => format!(
            "`{skill}` already has {max} live session(s), its limit; close one with `{skill}.close`"
        ),
        other => match other.hint().as_ref().and_then(outcome::for_the_model) {
            Some(hint) => format!("{other}\n{hint}"),
            None => other.to_string(),
        },
    }
}

/// Takes the optional string argument `name` out of `arguments`.
fn string_arg(arguments: &mut JsonObject, name: &str) -> Result<Option<String>, ArgumentError> {
    match arguments.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ArgumentError::not_a_string(name, &other)),
    }
}

/// The optional `session_id`: an empty one counts as left out. Agents fill an optional string
/// with `""`, and as a prefix it would name whichever session is live (anyone's).
fn session_arg(arguments: &mut JsonObject) -> Result<Option<String>, ArgumentError> {
    Ok(string_arg(arguments, SESSION_ARG)?.filter(|id| !id.is_empty()))
}

impl SkillServer {
    /// The directory relative paths in arguments start at: the workspace root.
    pub(crate) fn caller_dir(&self) -> std::path::PathBuf {
        let env = &self.shared.options.env;
        env.workspace_root().unwrap_or_else(|| env.cwd.clone())
    }
}
