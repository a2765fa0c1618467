//! Sessions through the engine: a real interpreter in the sandbox, a real SQLite history, and
//! what a caller hears when that history cannot be written.

mod common;

use std::sync::Arc;

use common::{Workspace, skill};
use serde_json::json;
use skillet_engine::Hint;
use skillet_engine::conversation::{ConversationRequest, ScriptedAnswers};
use skillet_engine::session::{
    SessionError, SessionManager, SessionStart, SessionStatus, TurnOutcome,
};
use skillet_store::Store;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Whether sessions cannot start here for want of a sandbox layer (see `sandbox_missing`).
fn start_refused_by_sandbox(e: &SessionError) -> bool {
    let text = e.to_string();
    let missing = text.contains("refusing to run without");
    if missing {
        assert!(
            std::env::var_os("SKILLET_REQUIRE_SANDBOX").is_none_or(|v| v != "1"),
            "the sandbox is required here: {text}"
        );
        eprintln!("SKIPPED: {text}");
    }
    missing
}

#[test]
fn a_close_the_history_cannot_record_is_reported_not_ignored() {
    let mut shell = skill("sh-session", json!({"command": "bash"}));
    shell["type"] = json!("code_session");
    let ws = Workspace::with(&[shell]);
    let store: Arc<dyn Store> = ws.store.clone();
    let sessions = SessionManager::new(Some(store));
    runtime().block_on(async {
        let start = SessionStart {
            caller_dir: ws.root.clone(),
            ..SessionStart::default()
        };
        let started = match sessions
            .start(&ws.engine, &ws.registry, "sh-session", start)
            .await
        {
            Ok(started) => started,
            Err(e) if start_refused_by_sandbox(&e) => return,
            Err(e) => panic!("the session did not start: {e}"),
        };
        assert_eq!(started.status, SessionStatus::Live);
        let reply = sessions
            .send(&started.id, "echo hi", "user")
            .await
            .expect("an answer");
        assert_eq!(reply.outcome, TurnOutcome::Ok, "{reply:?}");
        assert_eq!(reply.stdout.trim(), "hi");
        assert_eq!(
            ws.store.turns(&started.id).expect("transcript").len(),
            1,
            "the exchange is recorded"
        );

        // The history breaks under the running session (a real SQLite error, as a damaged or
        // replaced database gives).
        let raw = rusqlite::Connection::open(&ws.db).expect("second connection");
        raw.execute_batch("ALTER TABLE sessions RENAME TO sessions_elsewhere")
            .expect("rename");
        drop(raw);

        let err = sessions
            .close(&started.id)
            .await
            .expect_err("a close that was not recorded is an error");
        assert!(
            matches!(
                &err,
                SessionError::NotRecorded {
                    status: SessionStatus::Closed,
                    ..
                }
            ),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("session {} is closed", started.id))
                && text.contains("could not record")
                && text.contains("sessions"),
            "says what happened and why: {text}"
        );
        assert_eq!(
            sessions.live_count(),
            0,
            "the session is ended all the same"
        );
        assert!(
            sessions
                .take_problems()
                .iter()
                .any(|p| p.contains(&started.id)),
            "and the daemon's log hears of it too"
        );
    });
}

#[test]
fn session_refusals_say_what_is_wrong_and_leave_the_command_to_the_caller() {
    let ws = Workspace::with(&[]);
    let store: Arc<dyn Store> = ws.store.clone();
    let sessions = SessionManager::new(Some(store));
    let err = runtime()
        .block_on(sessions.send("0000-none", "1", "user"))
        .expect_err("no such session");
    assert!(matches!(err, SessionError::NotFound(_)), "{err:?}");
    assert_eq!(err.to_string(), "no session `0000-none`");
    assert_eq!(err.hint(), Some(Hint::ListSessions));
}

#[test]
fn a_conversation_that_cannot_resume_says_why_and_leaves_the_command_to_the_caller() {
    let ws = Workspace::with(&[skill("plain", json!({"command": "true"}))]);
    let mut nobody = ScriptedAnswers::new(Vec::<String>::new());
    let err = runtime()
        .block_on(
            ws.engine
                .resume_conversation(&ws.registry, "0000-none", None, None, &mut nobody),
        )
        .expect_err("no such session");
    assert_eq!(err.to_string(), "no session `0000-none`");
    assert_eq!(err.hint(), Some(Hint::ListSessions));
    let err = runtime()
        .block_on(ws.engine.converse(
            &ws.registry,
            "plain",
            ConversationRequest {
                caller_dir: ws.root.clone(),
                ..ConversationRequest::default()
            },
            &mut nobody,
        ))
        .expect_err("a code skill is not a conversation");
    assert_eq!(
        err.to_string(),
        "`plain` is a code_inline skill, not a conversation"
    );
    assert_eq!(
        err.hint(),
        Some(Hint::Run {
            skill: "plain".into()
        })
    );
}

#[test]
fn a_hint_from_a_newer_skillet_is_read_not_refused() {
    let known: Hint =
        serde_json::from_value(json!({"action": "list_sessions"})).expect("a known hint");
    assert_eq!(known, Hint::ListSessions);
    let newer: Hint = serde_json::from_value(json!({"action": "upgrade_the_moon", "when": 3}))
        .expect("an unknown hint");
    assert_eq!(newer, Hint::Other);
}

/// The machine and pid namespace a lease's pid means something in, as the engine writes it.
fn this_host() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("test setup");
    let ns = std::fs::read_link("/proc/self/ns/pid").expect("test setup");
    format!("{}/{}", boot.trim(), ns.display())
}

/// A session stored `live` and leased by `owner`'s process, as a daemon or `skillet mcp`
/// leaves it.
fn leased_live_session(store: &dyn Store, id: &str, owner: &std::process::Child) {
    use skillet_store::{LeaseGrant, LeaseRequest, SessionRecord};
    store
        .save_session(&SessionRecord {
            id: id.into(),
            skill: "py".into(),
            label: None,
            status: SessionStatus::Live,
            start: "{}".into(),
            replay: false,
            pid: Some(i64::from(owner.id())),
            created_at_ms: 1,
            last_used_at_ms: 1,
            ended_at_ms: None,
            exit_code: None,
            reason: None,
            turns: 0,
        })
        .expect("test setup");
    let request = LeaseRequest {
        owner: format!("owner-of-{id}"),
        pid: i64::from(owner.id()),
        host: this_host(),
        holder: "the daemon on /gone/skillet.sock".into(),
        ttl_ms: 3_600_000,
    };
    let grant = store
        .lease_session(id, &request, &|_| false)
        .expect("test setup");
    assert!(matches!(grant, LeaseGrant::Acquired { .. }), "{grant:?}");
}

#[test]
fn a_session_whose_owner_died_is_listed_ended_and_recorded_so() {
    use skillet_store::{Retention, SessionQuery};
    let ws = Workspace::with(&[]);
    let store: Arc<dyn Store> = ws.store.clone();
    let mut dying = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("test setup");
    let mut alive = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("test setup");
    leased_live_session(store.as_ref(), "lost", &dying);
    leased_live_session(store.as_ref(), "elsewhere", &alive);
    let sessions = SessionManager::new(Some(store.clone()));
    let ended = |sessions: &SessionManager| -> Vec<String> {
        let query = SessionQuery {
            status: Some(SessionStatus::Ended),
            ..SessionQuery::default()
        };
        sessions
            .list(&query)
            .expect("test setup")
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    assert!(ended(&sessions).is_empty(), "both owners are alive");

    // Killed as `kill -9` kills a daemon: nothing is written on the way out.
    dying.kill().expect("test setup");
    dying.wait().expect("test setup");
    assert_eq!(ended(&sessions), ["lost"], "--status ended finds it");
    let stored = store
        .session("lost")
        .expect("test setup")
        .expect("test setup");
    assert_eq!(stored.status, SessionStatus::Ended, "{stored:?}");
    assert!(stored.ended_at_ms.is_some(), "{stored:?}");
    assert_eq!(
        store
            .session("elsewhere")
            .expect("test setup")
            .expect("test setup")
            .status,
        SessionStatus::Live,
        "a session whose owner lives is left alone"
    );
    // Recorded ended, it falls under the history's retention rule; the live one never does.
    let pruned = store
        .prune(&Retention {
            before_ms: Some(skillet_store::now_ms() + 60_000),
            ..Retention::default()
        })
        .expect("test setup");
    assert_eq!(pruned.sessions, 1, "{pruned:?}");
    assert!(store.session("elsewhere").expect("test setup").is_some());
    alive.kill().expect("test setup");
    alive.wait().expect("test setup");
}
