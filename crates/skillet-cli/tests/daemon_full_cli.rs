//! A daemon whose every connection is held by clients can still be seen and stopped by its
//! user: it keeps a few connections for `daemon status` and `daemon stop`, and those commands
//! ask again while it answers `busy`.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::World;

/// A connection that asked for the status and was answered `result` or an error.
fn held(socket: &std::path::Path) -> (UnixStream, String) {
    let mut stream = UnixStream::connect(socket).unwrap();
    // One refused at once may be closed before the request is written: its answer is read.
    let _ = stream.write_all(b"{\"id\": 1, \"method\": \"daemon.status\"}\n");
    let mut line = String::new();
    let _ = BufReader::new(stream.try_clone().unwrap()).read_line(&mut line);
    (stream, line)
}

#[test]
fn a_daemon_full_of_clients_is_still_stopped_by_its_user() {
    let w = World::new();
    let mut daemon = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let socket = w.tmp.path().join("run/skillet/skillet.sock");
    let until = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < until, "the daemon never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let clients: Vec<UnixStream> = (0..64)
        .map(|_| {
            let (stream, line) = held(&socket);
            assert!(line.contains("\"result\""), "{line}");
            stream
        })
        .collect();
    // The status is told on one of the kept connections.
    let (code, out, err) = w.run(&["daemon", "status", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("\"running\": true") || out.contains("\"running\":true"),
        "{out}"
    );
    // Those kept connections taken too: `daemon stop` waits for one, and stops the daemon.
    let kept: Vec<UnixStream> = (0..4).map(|_| held(&socket).0).collect();
    let (_, refused) = held(&socket);
    assert!(refused.contains("\"busy\""), "{refused}");
    let mut stop = w
        .command(&assert_cmd::cargo::cargo_bin("skillet"))
        .args(["daemon", "stop", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(stop.try_wait().unwrap().is_none(), "it gave up at once");
    drop(kept);
    let out = stop.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("\"stopped\": true") || stdout.contains("\"stopped\":true"),
        "{stdout}"
    );
    let until = Instant::now() + Duration::from_secs(15);
    while daemon.try_wait().unwrap().is_none() {
        assert!(Instant::now() < until, "the daemon did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(clients);
}
