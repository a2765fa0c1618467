//! The MCP server through its public API, driven by a real agent: the official Python SDK (the
//! venv of crates/skillet-cli/tests/mcp, shared under target/tmp) speaks streamable HTTP to a
//! `SkillServer` served by `http_service`, over real skills run in the real sandbox, recorded
//! in a real SQLite store. The handshake (`initialize`), `tools/list` and `tools/call` are the
//! agent's; the history is read back from the store the server wrote.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use skillet_engine::session::SessionManager;
use skillet_mcp::{HttpAuth, HttpOptions, McpOptions, SkillServer};
use skillet_registry::Environment;
use skillet_store::{ExecutionQuery, SessionQuery, SqliteStore, Store};
use tokio_util::sync::CancellationToken;

const REQUIREMENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../skillet-cli/tests/mcp/requirements.txt"
);
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// The agent: initialize, list the tools, call a run tool and a session tool; prints a summary.
const AGENT: &str = r#"
import asyncio, json, os
import httpx2 as httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

def text(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")

async def main():
    http = httpx.AsyncClient(headers={"Authorization": "Bearer " + os.environ["TOKEN"]}, timeout=60)
    server = streamable_http_client(os.environ["URL"], http_client=http)
    async with Client(server, mode="legacy", read_timeout_seconds=60) as client:
        tools = sorted(t.name for t in (await client.list_tools()).tools)
        ran = await client.call_tool("echo", {"word": "hello"})
        held = await client.call_tool("py", {"input": "print(6 * 7)"})
        return {
            "protocol": client.protocol_version,
            "tools": tools,
            "run": {"error": ran.is_error, "text": text(ran), "structured": ran.structured_content},
            "session": {"error": held.is_error, "text": text(held), "structured": held.structured_content},
        }

print(json.dumps(asyncio.run(main())))
"#;

fn system_python() -> &'static str {
    ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("python3")
}

/// The venv's Python, made (once, under a lock shared with skillet-cli's MCP tests, which keep
/// the same venv) if its requirements changed.
fn agent_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-venv");
    let marker = venv.join(".skillet-requirements");
    let wanted = std::fs::read_to_string(REQUIREMENTS).unwrap();
    let ready = || std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted);
    if !ready() {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(venv.with_extension("lock"))
            .unwrap();
        lock.lock().unwrap();
        if !ready() {
            let _ = std::fs::remove_dir_all(&venv);
            let made = std::process::Command::new(system_python())
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .unwrap();
            assert!(
                made.success(),
                "cannot create a venv (is python3-venv installed?)"
            );
            let pip = std::process::Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(REQUIREMENTS)
                .status()
                .unwrap();
            assert!(pip.success(), "pip could not install {REQUIREMENTS}");
            std::fs::write(&marker, &wanted).unwrap();
        }
    }
    venv.join("bin/python")
}

/// A home whose global skills are a run tool (`echo`) and a session tool (`py`).
fn home(root: &Path) -> Environment {
    let skills = root.join("config/skillet/skills");
    std::fs::create_dir_all(&skills).unwrap();
    std::fs::create_dir_all(root.join("ws/.git")).unwrap();
    std::fs::write(
        skills.join("echo.json"),
        json!({"name": "echo", "description": "Echo a word", "type": "code_inline",
               "command": "echo", "args": ["{word}"],
               "parameters": [{"name": "word", "type": "string", "required": true}]})
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        skills.join("py.json"),
        json!({"name": "py", "description": "Python", "type": "code_session",
               "command": system_python()})
        .to_string(),
    )
    .unwrap();
    Environment {
        cwd: root.join("ws"),
        home: Some(root.join("home")),
        config_home: Some(root.join("config")),
        data_home: Some(root.join("data")),
    }
}

/// Serves `server` over HTTP on a loopback port until `stop`, then ends its sessions.
fn serve(
    server: SkillServer,
    sessions: Arc<SessionManager>,
    stop: CancellationToken,
) -> (String, std::thread::JoinHandle<()>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let options = HttpOptions {
        addr,
        auth: HttpAuth::Bearer(TOKEN.into()),
        allowed_origins: Vec::new(),
        max_sessions: skillet_mcp::DEFAULT_MAX_SESSIONS,
        session_idle_timeout: skillet_mcp::DEFAULT_SESSION_IDLE_TIMEOUT,
        token_file: None,
        shutdown: stop.clone(),
    };
    let router = skillet_mcp::http_service(server, &options).unwrap();
    let thread = std::thread::spawn(move || {
        rt.block_on(async {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
                .unwrap();
            sessions.shutdown().await;
        });
    });
    (format!("http://{addr}{}", skillet_mcp::MCP_PATH), thread)
}

#[test]
fn an_agent_lists_and_calls_tools_and_each_call_is_recorded_once_by_the_engine() {
    let python = agent_python();
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let env = home(tmp.path());
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&tmp.path().join("data/skillet/skillet.db")).unwrap());
    let sessions = Arc::new(SessionManager::new(Some(store.clone())));
    let server = SkillServer::new(McpOptions {
        env,
        store: Some(store.clone()),
        sessions: sessions.clone(),
        max_concurrent_calls: 4,
    })
    .unwrap();
    let stop = CancellationToken::new();
    let (url, thread) = serve(server, sessions, stop.clone());

    let agent = std::process::Command::new(&python)
        .arg("-c")
        .arg(AGENT)
        .env("URL", &url)
        .env("TOKEN", TOKEN)
        .output()
        .unwrap();
    stop.cancel();
    thread.join().unwrap();
    let stdout = String::from_utf8_lossy(&agent.stdout);
    let stderr = String::from_utf8_lossy(&agent.stderr);
    assert!(
        agent.status.success(),
        "the agent failed: {stderr}\n{stdout}"
    );
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));

    assert_eq!(summary["protocol"], "2025-11-25", "{summary}");
    assert_eq!(
        summary["tools"],
        json!(["echo", "py", "py.close"]),
        "{summary}"
    );
    let run = &summary["run"];
    assert_eq!(run["error"], false, "{summary}");
    assert_eq!(run["text"], "hello\n", "{summary}");
    let session = &summary["session"];
    assert_eq!(session["error"], false, "{summary}");
    assert!(
        session["text"].as_str().unwrap().starts_with("42\n"),
        "{summary}"
    );

    // The run is one execution, the engine's, tagged as the agent's call.
    let executions = store.list(&ExecutionQuery::default()).unwrap();
    assert_eq!(
        executions.len(),
        1,
        "one run, one history row (a session exchange is no execution): {executions:#?}"
    );
    let row = &executions[0];
    assert_eq!(
        Some(row.id.as_str()),
        run["structured"]["execution_id"].as_str()
    );
    assert_eq!(row.skill, "echo");
    assert_eq!(row.status, "ok");
    assert_eq!(row.origin.as_deref(), Some("mcp"));
    assert!(
        row.request_id.as_deref().is_some_and(|r| !r.is_empty()),
        "{row:?}"
    );

    // The session exchange is one turn of its session, kept by the engine's session manager.
    let id = session["structured"]["session_id"].as_str().unwrap();
    let turns = store.turns(id).unwrap();
    assert_eq!(turns.len(), 1, "{turns:#?}");
    assert_eq!(turns[0].source, "mcp");
    assert_eq!(turns[0].stdout, "42\n");
    let held = store.sessions(&SessionQuery::default()).unwrap();
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0].label.as_deref(), Some("mcp"));
    // Stopped with the server: its interpreter is gone.
    std::thread::sleep(Duration::from_millis(10));
    assert_ne!(
        store.session(id).unwrap().unwrap().status,
        skillet_store::SessionStatus::Live
    );
}
