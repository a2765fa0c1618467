//! The daemon's job queue through its wire API: turns asked, held, given back and withdrawn on
//! one connection beside its other requests, against a real daemon (see `common`).

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use skillet_server::Client;

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

    // Queue requests are read whatever else the connection has pending, so they are small.
    let long = daemon.raw(
        &json!({"id": 4, "method": "queue.turn", "params": {"skill": "s".repeat(9000)}})
            .to_string(),
    );
    assert_eq!(long["error"]["code"], "bad_request", "{long}");
    assert!(long["error"]["message"].as_str().unwrap().contains("8192"));

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
            priority: skillet_engine::Priority::Normal,
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

/// Runs one after another share the queue's connection for a while, then it is let go: seen
/// through the daemon's 64 connections, all but the queue's taken by others.
#[test]
fn calls_one_after_another_share_a_connection_that_is_let_go_when_idle() {
    use skillet_engine::RunQueue as _;
    let daemon = Daemon::start();
    let queue = skillet_server::DaemonQueue::new(
        daemon.paths.clone(),
        PathBuf::from("/nonexistent/skillet"),
        4,
        |why| panic!("the daemon was not asked: {why}"),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = || skillet_engine::QueuedRun {
        skill: "s".into(),
        client: None,
        memory_mb: 0,
        priority: skillet_engine::Priority::Normal,
    };
    let first = runtime.block_on(queue.admit(run())).expect("a turn");
    drop(first);
    // Every other connection the daemon serves is taken now.
    let held: Vec<UnixStream> = (0..63)
        .map(|_| UnixStream::connect(&daemon.paths.socket).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let second = runtime
        .block_on(queue.admit(run()))
        .expect("the next call takes its turn on the connection the first one used");
    drop(second);
    // Idle past the linger, the queue lets its connection go: the daemon takes a new one.
    runtime.block_on(async { tokio::time::sleep(Duration::from_millis(2600)).await });
    let until = Instant::now() + Duration::from_secs(5);
    while Client::connect(&daemon.paths)
        .and_then(|mut c| c.status())
        .is_err()
    {
        assert!(
            Instant::now() < until,
            "the queue's connection was kept while idle"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(held);
    daemon.stop();
}

/// A daemon that goes away between two calls (stopped, killed, restarted) leaves the kept
/// connection closed under the next call: that call asks again on a new one, never waits
/// for an answer that cannot come. A stand-in for the daemon hangs up after every turn given
/// back, while calls follow each other on two threads, so some find the connection closing.
#[test]
fn a_call_after_the_daemon_hung_up_asks_again_and_never_hangs() {
    use skillet_engine::RunQueue as _;
    let dir = tempfile::tempdir().unwrap();
    let paths = skillet_server::SocketPaths::for_user(Some(&dir.path().join("d.sock"))).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(&paths.socket).unwrap();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut out = stream.try_clone().unwrap();
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let request: Value = serde_json::from_str(&line).unwrap();
                match request["method"].as_str() {
                    Some("queue.turn") => {
                        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let answer =
                            json!({"id": request["id"], "result": {"turn": "t", "waited_ms": 0}});
                        let _ = writeln!(out, "{answer}");
                    }
                    // The turn is back: the daemon goes away.
                    Some("queue.release") => break,
                    _ => {}
                }
            }
        }
    });
    let queue =
        skillet_server::DaemonQueue::new(paths, PathBuf::from("/nonexistent/skillet"), 4, |why| {
            panic!("the daemon was not asked: {why}")
        });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for i in 0..5000 {
            let asked = queue.admit(skillet_engine::QueuedRun {
                skill: "s".into(),
                client: None,
                memory_mb: 0,
                priority: skillet_engine::Priority::Normal,
            });
            let turn = tokio::time::timeout(Duration::from_secs(10), asked)
                .await
                .unwrap_or_else(|_| panic!("call {i} waited for an answer that cannot come"))
                .unwrap_or_else(|no| panic!("call {i} got no turn: {no}"));
            drop(turn);
            // Sometimes the hang-up is seen before the next call, sometimes during it.
            if i % 3 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    assert!(served.load(std::sync::atomic::Ordering::SeqCst) >= 5000);
}
