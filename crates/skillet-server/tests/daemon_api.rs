//! The daemon through its library API and the typed client: a real daemon (`skillet_server::serve`,
//! see `common`) serving a real `code_session` skill whose interpreter runs in the real sandbox.
//! The job queue's requests are `queue_api.rs`.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt as _;

use common::*;
use serde_json::Value;
use skillet_server::api::{ErrorCode, SessionListParams, SessionPipeParams, SessionSendParams};
use skillet_server::{Client, ClientError, SocketPaths};
use skillet_store::{SessionStatus, TurnOutcome};

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

/// Clients holding every connection slot do not keep the user from stopping the daemon.
#[test]
fn a_daemon_whose_slots_are_all_taken_still_stops() {
    let daemon = Daemon::start();
    let open: Vec<UnixStream> = (0..64)
        .map(|_| {
            let mut stream = UnixStream::connect(&daemon.paths.socket).unwrap();
            stream
                .write_all(b"{\"id\": 1, \"method\": \"daemon.status\"}\n")
                .unwrap();
            let mut line = String::new();
            BufReader::new(stream.try_clone().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert!(line.contains("\"result\""), "{line}");
            stream
        })
        .collect();
    // The harness's stop: `daemon.stop` on a new connection, then the daemon's exit.
    daemon.stop();
    drop(open);
}

/// Open connections are bounded (each may hold a request line): a few over the bound are
/// served `daemon.status` and `daemon.stop` only, so a user can still see and stop a daemon
/// its clients have filled; past those a connection is answered with the reason and closed;
/// and a slot that frees up serves again.
#[test]
fn connections_over_the_bound_are_refused_with_the_reason() {
    let daemon = Daemon::start();
    let connect = || UnixStream::connect(&daemon.paths.socket).unwrap();
    let ask = |stream: &mut UnixStream, request: &str| -> Value {
        stream.write_all(format!("{request}\n").as_bytes()).unwrap();
        let mut line = String::new();
        BufReader::new(stream.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    };
    let mut open: Vec<UnixStream> = (0..64).map(|_| connect()).collect();
    // Each is accepted (a request answered) before the next is counted.
    for stream in &mut open {
        let answer = ask(stream, r#"{"id": 1, "method": "daemon.status"}"#);
        assert!(answer["result"].is_object(), "{answer}");
    }
    // Over the bound: the status is still told, anything else refused with the reason.
    let mut control: Vec<UnixStream> = (0..4).map(|_| connect()).collect();
    for stream in &mut control {
        let status = ask(stream, r#"{"id": 5, "method": "daemon.status"}"#);
        assert!(status["result"]["pid"].is_number(), "{status}");
        let busy = ask(
            stream,
            r#"{"id": 6, "method": "session.list", "params": {}}"#,
        );
        assert_eq!(busy["id"], 6, "{busy}");
        assert_eq!(busy["error"]["code"], "busy", "{busy}");
        assert!(busy["error"]["retry_after_ms"].is_number(), "{busy}");
        let message = busy["error"]["message"].as_str().unwrap();
        assert!(message.contains("at most 64 connections"), "{busy}");
        assert!(message.contains("skillet daemon stop"), "{busy}");
    }
    // Past those few, refused at once.
    let busy = daemon.raw(r#"{"id": 2, "method": "daemon.status"}"#);
    assert_eq!(busy["error"]["code"], "busy", "{busy}");
    assert!(
        busy["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 64 connections"),
        "{busy}"
    );
    drop(control);
    open.pop();
    let served = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        // Not the status: a control connection answers that.
        daemon.raw(r#"{"id": 3, "method": "session.list", "params": {}}"#)["result"].is_array()
    });
    assert!(served, "a freed slot serves again");
    drop(open);
    // The daemon frees the slots as it sees each connection close.
    let freed = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        daemon.raw(r#"{"id": 4, "method": "session.list", "params": {}}"#)["result"].is_array()
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

#[test]
fn a_connection_that_piles_up_requests_is_read_no_further_past_its_budget() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let daemon = Daemon::start();
    let session = daemon
        .client()
        .session_start(&start_params(&daemon.ws))
        .unwrap();
    let mut stream = UnixStream::connect(&daemon.paths.socket).unwrap();
    // A request the connection serves for a while, then 1 MiB requests behind it, answers
    // never read: the daemon may take a few of them, not all (it held 2 GiB a connection).
    let slow = serde_json::json!({"id": "slow", "method": "session.send",
        "params": {"id": session.id, "input": "import time; time.sleep(6)"}});
    stream.write_all(format!("{slow}\n").as_bytes()).unwrap();
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (mut stream, written) = (stream.try_clone().unwrap(), written.clone());
        std::thread::spawn(move || {
            let filler = "a".repeat(1 << 20);
            for n in 0..48 {
                let line = format!(
                    "{{\"id\":{n},\"method\":\"daemon.status\",\"params\":{{\"x\":\"{filler}\"}}}}\n"
                );
                if stream.write_all(line.as_bytes()).is_err() {
                    return;
                }
                written.fetch_add(line.len(), Ordering::SeqCst);
            }
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(2000));
    // Its budget (8 MiB), the line being read (up to 8 MiB) and the kernel's buffers.
    let taken = written.load(Ordering::SeqCst);
    assert!(
        taken < 24 << 20,
        "the daemon took {} MiB from one connection",
        taken >> 20
    );
    // The user's other clients are served meanwhile.
    assert!(daemon.client().status().is_ok());
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    writer.join().unwrap();
}

#[test]
fn an_id_that_cannot_come_back_as_sent_is_refused_and_others_are_echoed_exactly() {
    let daemon = Daemon::start();
    for id in [
        "99999999999999999999999999",
        "-9223372036854775809",
        "1e300",
    ] {
        let answer = daemon.raw(&format!(r#"{{"id": {id}, "method": "daemon.status"}}"#));
        assert_eq!(answer["error"]["code"], "bad_request", "{id}: {answer}");
        assert!(answer["id"].is_null(), "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("use a string")
        );
    }
    for id in [
        "18446744073709551615",
        "-9223372036854775808",
        "1.5",
        "\"x\"",
    ] {
        let line = format!(r#"{{"id": {id}, "method": "daemon.status"}}"#);
        let answer = daemon.raw(&line);
        assert!(answer["result"].is_object(), "{id}: {answer}");
        assert_eq!(answer["id"].to_string(), id, "{answer}");
    }
}
