//! `[[alerts]]` end to end: a real daemon (`skillet serve`) watches the history, a failing run
//! fires the alert once (its command runs, its webhook gets a POST on a real socket), a
//! restarted daemon does not fire it again, healthy runs resolve it once, and `skillet alerts`
//! shows it all.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::World;
use common::daemon::Daemon;
use common::sessions::eventually;
use serde_json::{Value, json};

/// `skillet serve`, up once it says it watches the one rule.
fn watching(w: &World) -> Daemon {
    Daemon::start_saying(w, "watching 1 alert rule(s)")
}

/// A webhook receiver on a loopback port: the JSON bodies POSTed to it, in order.
fn webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock()
                .unwrap()
                .push(serde_json::from_slice(&body).unwrap());
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (url, got)
}

/// The notification lines the alert's command appended.
fn notified(w: &World) -> Vec<Value> {
    std::fs::read_to_string(w.path("~/notified"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_failing_skill_fires_once_and_resolves_once() {
    let w = World::new();
    // Fails while the workspace holds `failing`.
    w.skill(
        "review",
        json!({"name": "review", "description": "d", "type": "code_inline",
               "command": "sh", "args": ["-c", "test ! -e failing"]}),
    );
    let (url, posted) = webhook();
    let notes = w.path("~/notified");
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!(
            "[[alerts]]\nname = \"review failing\"\nskill = \"review\"\nwhen = \"failure_rate > 0.5\"\n\
             window = \"1m\"\nresolve_after = \"1s\"\n\
             notify = {{ command = [\"sh\", \"-c\", \"cat >> '{}'\"], webhook = \"{url}\" }}\n",
            notes.display()
        ),
    );
    let daemon = watching(&w);
    w.write("failing", "");
    assert_ne!(w.run(&["run", "review"]).0, 0);
    let failed_at = Instant::now();
    assert!(
        eventually(Duration::from_secs(10), || !notified(&w).is_empty()),
        "no notification within 10 s"
    );
    let took = failed_at.elapsed();
    assert!(took < Duration::from_secs(10), "{took:?}");
    let first = &notified(&w)[0];
    assert_eq!(first["state"], "firing");
    assert_eq!(first["skill"], "review");
    assert_eq!(first["value"], 1.0);
    assert!(eventually(Duration::from_secs(10), || posted
        .lock()
        .unwrap()
        .len()
        == 1));
    assert_eq!(posted.lock().unwrap()[0]["state"], "firing");

    // Still failing, and a new daemon: nothing fires again.
    assert_ne!(w.run(&["run", "review"]).0, 0);
    drop(daemon);
    let daemon = watching(&w);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(notified(&w).len(), 1, "{:?}", notified(&w));

    // Healthy again: 2 failed of 5 is under the threshold, and it resolves once.
    std::fs::remove_file(w.path("failing")).unwrap();
    for _ in 0..3 {
        assert_eq!(w.run(&["run", "review"]).0, 0);
    }
    assert!(
        eventually(Duration::from_secs(10), || notified(&w).len() == 2),
        "{:?}",
        notified(&w)
    );
    std::thread::sleep(Duration::from_secs(3));
    let all = notified(&w);
    let states: Vec<&str> = all.iter().map(|n| n["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["firing", "resolved"]);
    assert!(eventually(Duration::from_secs(10), || posted
        .lock()
        .unwrap()
        .len()
        == 2));

    let (code, out, err) = w.run(&["alerts", "--json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["daemon_running"], true);
    assert_eq!(report["states"][0]["state"], "resolved");
    let events = report["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e["notified"] == "ok"), "{events:?}");
    let (_, text, _) = w.run(&["alerts"]);
    assert!(
        text.contains("review failing") && text.contains("resolved"),
        "{text}"
    );
    drop(daemon);
}

#[test]
fn bad_rules_are_named_and_a_workspace_cannot_add_any() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        "[[alerts]]\nname = \"x\"\nwhen = \"latency > 3\"\nnotify = { command = [\"true\"] }\n",
    );
    // A cloned repository's alert would run its command as the user: ignored, with a warning.
    w.write(
        ".skillet/skillet.toml",
        "[[alerts]]\nname = \"evil\"\nwhen = \"runs > 0\"\nnotify = { command = [\"touch\", \"/tmp/pwned\"] }\n",
    );
    let (code, out, err) = w.run(&["alerts", "--json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(report["rules"].as_array().unwrap().is_empty());
    assert!(
        report["errors"][0]
            .as_str()
            .unwrap()
            .contains("latency > 3"),
        "{report}"
    );
    let (_, _, err) = w.run(&["alerts"]);
    assert!(
        err.contains("[[alerts]] are ignored in a workspace"),
        "{err}"
    );
    assert!(err.contains("is not evaluated"), "{err}");
}

/// A rule written while the daemon runs is watched; a daemon stopped while it notifies does
/// not fire the alert again (the event was recorded first).
#[test]
fn a_rule_added_later_is_watched_and_a_stop_mid_notification_does_not_fire_twice() {
    let w = World::new();
    w.skill(
        "bad",
        json!({"name": "bad", "description": "d", "type": "code_inline",
               "command": "sh", "args": ["-c", "exit 3"]}),
    );
    let daemon = Daemon::start_saying(&w, "listening on");
    let notes = w.path("~/notified");
    // The command notes the event, then takes its time.
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!(
            "[[alerts]]\nname = \"bad\"\nwhen = \"failures >= 1\"\nwindow = \"1m\"\n\
             notify = {{ command = [\"sh\", \"-c\", \"cat >> '{}'; sleep 4\"] }}\n",
            notes.display()
        ),
    );
    assert_ne!(w.run(&["run", "bad"]).0, 0);
    assert!(
        eventually(Duration::from_secs(10), || notified(&w).len() == 1),
        "the rule written after the daemon started was not watched"
    );
    // Mid-notification: the event is on record already ("pending").
    let (_, out, _) = w.run(&["alerts", "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["states"][0]["state"], "firing", "{report}");
    drop(daemon);
    let daemon = watching(&w);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(notified(&w).len(), 1, "fired again: {:?}", notified(&w));
    drop(daemon);
}
