//! The daemon through its library API and the typed client: a real daemon (`skillet_server::serve`)
//! on a socket of its own, with a home, XDG directories and a SQLite store in a temporary
//! directory, serving a real `code_session` skill whose interpreter runs in the real sandbox.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillet_engine::session::SessionStart;
use skillet_registry::Environment;
use skillet_server::api::{
    ErrorCode, SessionListParams, SessionPipeParams, SessionSendParams, SessionStartParams,
};
use skillet_server::{Client, ClientError, DaemonOptions, SocketPaths};
use skillet_store::{SessionStatus, SqliteStore, Store, TurnOutcome};

fn python() -> &'static str {
    ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("python3")
}

struct Daemon {
    _tmp: tempfile::TempDir,
    /// The socket's directory: in the system's temporary directory, so the path stays short
    /// and another user can be let in by opening this one directory.
    _run: tempfile::TempDir,
    ws: PathBuf,
    paths: SocketPaths,
    thread: Option<std::thread::JoinHandle<Result<(), skillet_server::DaemonError>>>,
}

impl Daemon {
    /// A workspace (trusted by being the user's global skills) with a python session skill, and
    /// a daemon serving it.
    fn start() -> Daemon {
        Daemon::start_with("")
    }

    /// [`Daemon::start`] with `config` as the global skillet.toml.
    fn start_with(config: &str) -> Daemon {
        let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let root = tmp.path();
        let ws = root.join("ws");
        let skills = root.join("config/skillet/skills");
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        std::fs::create_dir_all(&skills).unwrap();
        std::fs::create_dir_all(root.join("home")).unwrap();
        std::fs::write(root.join("config/skillet/skillet.toml"), config).unwrap();
        std::fs::write(
            skills.join("py.json"),
            json!({"name": "py", "description": "Python", "type": "code_session",
                   "command": python()})
            .to_string(),
        )
        .unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&root.join("data/skillet/skillet.db")).unwrap());
        let run = tempfile::tempdir().unwrap();
        let paths = SocketPaths::for_user(Some(&run.path().join("run/d.sock"))).unwrap();
        let options = DaemonOptions {
            paths: paths.clone(),
            idle_timeout: Duration::from_secs(60),
            store: Some(store),
            env: Environment {
                cwd: ws.clone(),
                home: Some(root.join("home")),
                config_home: Some(root.join("config")),
                data_home: Some(root.join("data")),
            },
            http: None,
        };
        // The daemon's future stays on one thread, as `skillet serve` runs it.
        let thread = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(skillet_server::serve(options))
        });
        let started = Instant::now();
        while !paths.socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the daemon listens"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon {
            _tmp: tmp,
            _run: run,
            ws,
            paths,
            thread: Some(thread),
        }
    }

    fn client(&self) -> Client {
        Client::connect(&self.paths).unwrap()
    }

    /// One raw line in, one raw line out: the wire format itself.
    fn raw(&self, line: &str) -> Value {
        let mut stream = UnixStream::connect(&self.paths.socket).unwrap();
        stream.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).unwrap();
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"))
    }

    /// Asks the daemon to stop and waits until it has.
    fn stop(mut self) {
        assert!(self.client().stop().unwrap().stopping);
        let thread = self.thread.take().unwrap();
        thread.join().unwrap().unwrap();
        assert!(!self.paths.socket.exists(), "the socket is removed");
    }
}

fn start_params(ws: &Path) -> SessionStartParams {
    SessionStartParams {
        skill: "py".into(),
        start: SessionStart {
            label: Some("test".into()),
            caller_dir: ws.to_path_buf(),
            ..SessionStart::default()
        },
    }
}

fn send(id: &str, input: &str) -> SessionSendParams {
    SessionSendParams {
        id: id.into(),
        input: Some(input.into()),
        ..SessionSendParams::default()
    }
}

#[test]
fn status_says_who_and_where_the_daemon_is() {
    let daemon = Daemon::start();
    let status = daemon.client().status().unwrap();
    assert_eq!(status.pid, std::process::id());
    assert_eq!(status.socket, daemon.paths.socket);
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(status.live_sessions, 0);
    assert_eq!(status.idle_timeout_s, 60);
    assert!(status.store);
    // The typed reply is exactly what goes over the wire.
    let raw = daemon.raw(r#"{"id": 9, "method": "daemon.status"}"#);
    assert_eq!(raw["id"], 9);
    let mut keys: Vec<&str> = raw["result"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "idle_timeout_s",
            "live_sessions",
            "pid",
            "socket",
            "started_at_ms",
            "store",
            "uptime_ms",
            "version"
        ]
    );
    daemon.stop();
}

#[test]
fn a_session_goes_round_trip_through_the_typed_client() {
    let daemon = Daemon::start();
    let mut client = daemon.client();
    let session = client.session_start(&start_params(&daemon.ws)).unwrap();
    assert_eq!(session.skill, "py");
    assert_eq!(session.status, SessionStatus::Live);
    assert_eq!(session.label.as_deref(), Some("test"));

    // Ids may be shortened to a unique start.
    let short = &session.id[..session.id.len() - 4];
    let first = client.session_send(&send(short, "x = 21")).unwrap();
    assert_eq!(first.session_id, session.id);
    assert_eq!(first.outcome, TurnOutcome::Ok);
    let second = client
        .session_send(&send(&session.id, "print(x * 2)"))
        .unwrap();
    assert_eq!(second.stdout, "42\n");
    assert_eq!(second.seq, 2);
    let failed = client.session_send(&send(&session.id, "1/0")).unwrap();
    assert_eq!(failed.outcome, TurnOutcome::Error);
    assert!(failed.stderr.contains("ZeroDivisionError"), "{failed:?}");

    // A session of another skill is refused by name.
    let wrong_skill = SessionSendParams {
        skill: Some("other".into()),
        ..send(&session.id, "1")
    };
    let refused = client.session_send(&wrong_skill).unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Refused), "{refused}");
    assert!(refused.to_string().contains("not `other`"), "{refused}");
    // Both `input` and `from`, or neither, is a bad request.
    let both = SessionSendParams {
        from: Some(session.id.clone()),
        ..send(&session.id, "1")
    };
    let refused = client.session_send(&both).unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::BadRequest), "{refused}");

    let listed = client.session_list(&SessionListParams::default()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, session.id);
    assert_eq!(listed[0].turns, 3);
    let only_closed = SessionListParams {
        status: Some(SessionStatus::Closed),
        ..SessionListParams::default()
    };
    assert!(client.session_list(&only_closed).unwrap().is_empty());

    let piped = client
        .session_pipe(&SessionPipeParams {
            from: short.to_owned(),
            to: session.id.clone(),
            stop: false,
        })
        .unwrap_err();
    assert_eq!(
        piped.code(),
        Some(ErrorCode::Refused),
        "a session cannot feed itself: {piped}"
    );
    let unpiped = client
        .session_pipe(&SessionPipeParams {
            from: session.id.clone(),
            to: session.id.clone(),
            stop: true,
        })
        .unwrap();
    assert_eq!((unpiped.piped, unpiped.removed), (false, Some(false)));

    let logs = client.session_logs(short).unwrap();
    assert_eq!(logs.session.id, session.id);
    let inputs: Vec<&str> = logs.turns.iter().map(|t| t.input.as_str()).collect();
    assert_eq!(inputs, ["x = 21", "print(x * 2)", "1/0"]);
    assert_eq!(logs.turns[1].stdout, "42\n");
    assert_eq!(logs.turns[2].outcome, TurnOutcome::Error);

    let closed = client.session_close(&session.id).unwrap();
    assert_eq!(closed.status, SessionStatus::Closed);
    let over = client.session_send(&send(&session.id, "x")).unwrap_err();
    assert_eq!(over.code(), Some(ErrorCode::SessionOver), "{over}");
    let gone = client.session_logs("no-such-session").unwrap_err();
    assert_eq!(gone.code(), Some(ErrorCode::NotFound), "{gone}");
    daemon.stop();
}

#[test]
fn malformed_and_unknown_requests_are_answered_with_what_to_do() {
    let daemon = Daemon::start();
    let unknown = daemon.raw(r#"{"id": "a", "method": "session.destroy"}"#);
    assert_eq!(unknown["id"], "a");
    assert_eq!(unknown["error"]["code"], "unknown_method", "{unknown}");
    let message = unknown["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("session.destroy") && message.contains("session.send"),
        "names the methods there are: {message}"
    );
    let bad = daemon.raw(r#"{"id": 2, "method": "session.send", "params": {"input": "x"}}"#);
    assert_eq!(bad["error"]["code"], "bad_request", "{bad}");
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("`id`"),
        "{bad}"
    );
    let garbage = daemon.raw("not json");
    assert_eq!(garbage["error"]["code"], "bad_request", "{garbage}");
    // A start in a directory that is not there is refused, naming it.
    let mut params = start_params(&daemon.ws);
    params.start.caller_dir = daemon.ws.join("gone");
    let refused = daemon.client().session_start(&params).unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Refused), "{refused}");
    assert!(refused.to_string().contains("gone"), "{refused}");
    daemon.stop();
}

/// A client (a confined process that can reach the socket among them) cannot make the daemon
/// hold a line of any length, and a line that is not UTF-8 is answered, not a silent hang-up:
/// each is refused with a reason and the same connection is still served.
#[test]
fn an_over_long_or_non_utf8_line_is_answered_and_the_connection_goes_on() {
    let daemon = Daemon::start();
    let stream = UnixStream::connect(&daemon.paths.socket).unwrap();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        std::thread::spawn(move || {
            // 20 MiB without a newline, written in pieces, then the rest of the line.
            let piece = vec![b'{'; 1 << 20];
            for _ in 0..20 {
                stream.write_all(&piece).unwrap();
            }
            stream.write_all(b"\n\xff\xfe{\n").unwrap();
            stream
                .write_all(b"{\"id\": 7, \"method\": \"daemon.status\"}\r\n")
                .unwrap();
        })
    };
    let mut answers = BufReader::new(stream.try_clone().unwrap());
    let mut read = || {
        let mut line = String::new();
        answers.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let long = read();
    assert_eq!(long["error"]["code"], "bad_request", "{long}");
    assert!(
        long["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than 8388608 bytes"),
        "{long}"
    );
    let binary = read();
    assert_eq!(binary["error"]["code"], "bad_request", "{binary}");
    let status = read();
    assert_eq!(status["id"], 7, "{status}");
    assert!(status["result"].is_object(), "{status}");
    writer.join().unwrap();
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    daemon.stop();
}

/// Open connections are bounded (each may hold a request line): one over the bound is answered
/// with the reason and closed, and a slot that frees up serves again.
#[test]
fn connections_over_the_bound_are_refused_with_the_reason() {
    let daemon = Daemon::start();
    let mut open: Vec<UnixStream> = (0..64)
        .map(|_| UnixStream::connect(&daemon.paths.socket).unwrap())
        .collect();
    // Each is accepted (a request answered) before the next is counted.
    for stream in &mut open {
        stream
            .write_all(b"{\"id\": 1, \"method\": \"daemon.status\"}\n")
            .unwrap();
        let mut line = String::new();
        BufReader::new(stream.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("\"result\""), "{line}");
    }
    let busy = daemon.raw(r#"{"id": 2, "method": "daemon.status"}"#);
    assert_eq!(busy["error"]["code"], "bad_request", "{busy}");
    assert!(
        busy["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 64 connections"),
        "{busy}"
    );
    open.pop();
    let served = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        daemon.raw(r#"{"id": 3, "method": "daemon.status"}"#)["result"].is_object()
    });
    assert!(served, "a freed slot serves again");
    drop(open);
    // The daemon frees the slots as it sees each connection close.
    let freed = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        daemon.raw(r#"{"id": 4, "method": "daemon.status"}"#)["result"].is_object()
    });
    assert!(freed);
    daemon.stop();
}

#[test]
fn another_user_is_refused_even_when_the_socket_is_reachable() {
    if !rustix::process::geteuid().is_root() {
        println!("SKIPPED: connecting as another user needs root to switch users");
        return;
    }
    let daemon = Daemon::start();
    // Suppose the socket's private directory were opened up by mistake: the daemon's own check
    // of the peer's uid still refuses.
    for dir in [daemon._run.path(), daemon.paths.dir()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&daemon.paths.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    // The refusal comes as soon as the connection is accepted, and then the daemon hangs up:
    // a request sent afterwards finds the connection closed.
    let client = r#"import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
print(s.makefile().readline().strip())
try:
    s.sendall(b'{"id": 1, "method": "session.list"}\n')
    print(repr(s.recv(100)))
except OSError as e:
    print("closed")
"#;
    let out = std::process::Command::new(python())
        .args(["-c", client])
        .arg(&daemon.paths.socket)
        .current_dir("/")
        .env_clear()
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    let answer: Value = serde_json::from_str(lines.next().unwrap_or_default()).unwrap();
    let after = lines.next().unwrap_or_default();
    assert!(
        after == "closed" || after == "b''",
        "nothing more is answered: {after}"
    );
    assert_eq!(answer["error"]["code"], "bad_request", "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "this daemon serves only the user that started it"
    );
    assert!(answer.get("result").is_none(), "{answer}");
    // The user's own client is still served.
    assert!(
        daemon
            .client()
            .session_list(&SessionListParams::default())
            .is_ok()
    );
    daemon.stop();
}

#[test]
fn a_client_says_when_no_daemon_listens() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let paths = SocketPaths::for_user(Some(&tmp.path().join("none.sock"))).unwrap();
    match Client::connect(&paths) {
        Err(ClientError::NotRunning(socket)) => assert_eq!(socket, paths.socket),
        other => panic!("{other:?}"),
    }
}

/// A connection that asks for queue turns line by line, and can tell an answer that has not
/// come yet.
struct TurnAsker {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
}

impl TurnAsker {
    fn new(daemon: &Daemon) -> TurnAsker {
        let stream = UnixStream::connect(&daemon.paths.socket).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        TurnAsker { stream, reader }
    }

    fn ask(&mut self, method: &str, params: Value) {
        let line = json!({"id": 1, "method": method, "params": params}).to_string();
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// The answer, if one comes within `wait`.
    fn answer_within(&mut self, wait: Duration) -> Option<Value> {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 => Some(serde_json::from_str(&line).unwrap()),
            _ => None,
        }
    }

    fn turn(&mut self) -> String {
        self.ask("queue.turn", json!({"skill": "s"}));
        let answer = self.answer_within(Duration::from_secs(10)).unwrap();
        answer["result"]["turn"].as_str().unwrap().to_owned()
    }

    fn send(&mut self, id: u64, method: &str, params: Value) {
        let line = json!({"id": id, "method": method, "params": params}).to_string();
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }
}

#[test]
fn one_connection_waits_for_a_turn_and_gives_one_back_meanwhile() {
    let daemon = Daemon::start_with("[jobs]\nmax_running = 1\n");
    let mut c = TurnAsker::new(&daemon);
    c.send(1, "queue.turn", json!({"skill": "s"}));
    let first = c.answer_within(Duration::from_secs(10)).unwrap();
    let held = first["result"]["turn"].as_str().unwrap().to_owned();
    // A second wait on the same connection does not stop it from being read.
    c.send(2, "queue.turn", json!({"skill": "s"}));
    assert!(c.answer_within(Duration::from_millis(300)).is_none());
    // Another wait under the same id would make the first one impossible to withdraw.
    c.send(2, "queue.turn", json!({"skill": "s"}));
    let duplicate = c.answer_within(Duration::from_secs(5)).unwrap();
    assert_eq!(duplicate["error"]["code"], "bad_request", "{duplicate}");
    c.send(3, "queue.release", json!({"turn": held}));
    let mut answers: Vec<Value> = (0..2)
        .map(|_| c.answer_within(Duration::from_secs(10)).unwrap())
        .collect();
    answers.sort_by_key(|a| a["id"].as_u64());
    assert_eq!(answers[0]["id"], 2, "{answers:?}");
    assert!(answers[0]["result"]["turn"].is_string(), "{answers:?}");
    assert_eq!(answers[1]["result"]["released"], true, "{answers:?}");

    // A wait given up is withdrawn: answered so, and its place is free.
    c.send(4, "queue.turn", json!({"skill": "s"}));
    assert!(c.answer_within(Duration::from_millis(300)).is_none());
    c.send(5, "queue.withdraw", json!({"request": 4}));
    let mut answers: Vec<Value> = (0..2)
        .map(|_| c.answer_within(Duration::from_secs(10)).unwrap())
        .collect();
    answers.sort_by_key(|a| a["id"].as_u64());
    assert_eq!(answers[0]["error"]["message"], "withdrawn", "{answers:?}");
    assert_eq!(answers[1]["result"]["withdrawn"], true, "{answers:?}");

    // Closing a connection that holds a turn and waits for another frees both at once.
    c.send(6, "queue.turn", json!({"skill": "s"}));
    assert!(c.answer_within(Duration::from_millis(300)).is_none());
    drop(c);
    let mut other = TurnAsker::new(&daemon);
    other.ask("queue.turn", json!({"skill": "s"}));
    let granted = other.answer_within(Duration::from_secs(5)).unwrap();
    assert!(granted["result"]["turn"].is_string(), "{granted}");
    drop(other);
    daemon.stop();
}

#[test]
fn queue_turns_are_held_until_released_or_their_connection_closes() {
    let daemon = Daemon::start_with("[jobs]\nmax_running = 1\nmemory_budget_mb = 100\n");
    let mut first = TurnAsker::new(&daemon);
    let held = first.turn();
    // The one slot is held: the next caller waits.
    let mut second = TurnAsker::new(&daemon);
    second.ask("queue.turn", json!({"skill": "s", "memory_mb": 10}));
    assert!(second.answer_within(Duration::from_millis(300)).is_none());

    // A turn is its asker's: another connection cannot give it back.
    let release = json!({"id": 2, "method": "queue.release", "params": {"turn": held}});
    assert_eq!(
        daemon.raw(&release.to_string())["result"]["released"],
        false
    );
    assert!(second.answer_within(Duration::from_millis(200)).is_none());
    // Given back by its asker; twice is harmless.
    first.ask("queue.release", json!({"turn": held}));
    let answer = first.answer_within(Duration::from_secs(5)).unwrap();
    assert_eq!(answer["result"]["released"], true, "{answer}");
    first.ask("queue.release", json!({"turn": held}));
    let answer = first.answer_within(Duration::from_secs(5)).unwrap();
    assert_eq!(answer["result"]["released"], false, "{answer}");
    let granted = second.answer_within(Duration::from_secs(10)).unwrap();
    assert!(granted["result"]["turn"].is_string(), "{granted}");
    assert!(
        granted["result"]["waited_ms"].as_u64().unwrap() >= 250,
        "{granted}"
    );

    // A caller that goes away gives back what it held.
    let mut third = TurnAsker::new(&daemon);
    third.ask("queue.turn", json!({"skill": "s"}));
    assert!(third.answer_within(Duration::from_millis(300)).is_none());
    drop(second);
    let granted = third.answer_within(Duration::from_secs(10)).unwrap();
    assert!(granted["result"]["turn"].is_string(), "{granted}");

    // A run larger than the whole memory budget is refused at once, not left waiting.
    let refused = daemon.raw(
        &json!({"id": 3, "method": "queue.turn", "params": {"skill": "big", "memory_mb": 101}})
            .to_string(),
    );
    assert_eq!(refused["error"]["code"], "refused", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("100 MiB"),
        "{refused}"
    );
    drop(third);
    daemon.stop();
}

#[test]
fn waits_past_any_bound_never_stop_a_connection_from_being_read() {
    let daemon = Daemon::start_with("[jobs]\nmax_running = 1\nmax_queued = 5000\n");
    let mut c = TurnAsker::new(&daemon);
    c.send(1, "queue.turn", json!({"skill": "s"}));
    let first = c.answer_within(Duration::from_secs(10)).unwrap();
    let held = first["result"]["turn"].as_str().unwrap().to_owned();
    // Far more waits than any request bound of the connection...
    for id in 2..=600 {
        c.send(id, "queue.turn", json!({"skill": "s"}));
    }
    // ...and the release behind them is still read and answered at once.
    c.send(1000, "queue.release", json!({"turn": held}));
    let until = Instant::now() + Duration::from_secs(10);
    let mut released = false;
    while Instant::now() < until && !released {
        if let Some(answer) = c.answer_within(Duration::from_secs(1)) {
            released = answer["id"] == 1000 && answer["result"]["released"] == true;
        }
    }
    assert!(released, "the release was never answered");
    // Closing frees every wait and turn: another caller gets one at once.
    drop(c);
    let mut other = TurnAsker::new(&daemon);
    other.ask("queue.turn", json!({"skill": "s"}));
    let granted = other.answer_within(Duration::from_secs(10)).unwrap();
    assert!(granted["result"]["turn"].is_string(), "{granted}");
    drop(other);
    daemon.stop();
}

#[test]
fn pipelined_requests_other_than_the_queues_are_served_in_order() {
    let daemon = Daemon::start();
    let session = daemon
        .client()
        .session_start(&start_params(&daemon.ws))
        .unwrap();
    let mut c = TurnAsker::new(&daemon);
    // Three inputs sent at once: the slow first one is answered first, and the second sees
    // what it set.
    let inputs = [
        "import time; time.sleep(0.3); x = 1; print('first')",
        "print('second', x)",
        "print('third')",
    ];
    for (id, input) in inputs.iter().enumerate() {
        c.send(
            id as u64,
            "session.send",
            json!({"id": session.id, "input": input}),
        );
    }
    let answers: Vec<Value> = (0..inputs.len())
        .map(|_| c.answer_within(Duration::from_secs(20)).unwrap())
        .collect();
    let shown: Vec<(u64, &str)> = answers
        .iter()
        .map(|a| {
            (
                a["id"].as_u64().unwrap(),
                a["result"]["stdout"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [(0, "first\n"), (1, "second 1\n"), (2, "third\n")],
        "{answers:?}"
    );
    drop(c);
    daemon.stop();
}

#[test]
fn a_run_turned_away_by_a_full_daemon_is_told_busy_not_run_outside_the_queue() {
    use skillet_engine::RunQueue as _;
    let daemon = Daemon::start();
    // Every connection the daemon serves is taken.
    let held: Vec<UnixStream> = (0..64)
        .map(|_| UnixStream::connect(&daemon.paths.socket).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let warned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let told = warned.clone();
    let queue = skillet_server::DaemonQueue::new(
        daemon.paths.clone(),
        PathBuf::from("/nonexistent/skillet"),
        4,
        move |_| told.store(true, std::sync::atomic::Ordering::SeqCst),
    );
    let asked = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(queue.admit(skillet_engine::QueuedRun {
            skill: "s".into(),
            client: None,
            memory_mb: 0,
        }));
    let no = asked.expect_err("a turn without the daemon's queue");
    assert!(no.again, "{no}");
    assert!(
        no.reason.starts_with("busy:") && no.reason.contains("64"),
        "{no}"
    );
    assert!(
        !warned.load(std::sync::atomic::Ordering::SeqCst),
        "not unreachable"
    );
    drop(held);
    // Served again once the daemon has seen those connections close.
    let until = Instant::now() + Duration::from_secs(10);
    while Client::connect(&daemon.paths)
        .and_then(|mut c| c.status())
        .is_err()
    {
        assert!(Instant::now() < until, "the daemon never served again");
        std::thread::sleep(Duration::from_millis(50));
    }
    daemon.stop();
}
