//! State for code_session skills, end to end through the daemon: a session starts from the
//! committed document, each input that ends ok is committed, a failed or killed input commits
//! nothing, two sessions of one skill conflict as docs/state.md says, and a restored session
//! neither loses its state nor counts its replayed inputs twice.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::Duration;

use common::sessions::{eventually, send, session_skill, start, status_of};
use common::state::export;
use common::{World, interpreter};
use serde_json::{Value, json};

/// One python input that adds one to `count` in the state document and prints it; `then` runs
/// after the document is written (to fail the input after its write).
fn bump(then: &str) -> String {
    format!(
        "import json, os; p = os.environ['SKILLET_STATE']; s = json.load(open(p)); \
         s['count'] = s.get('count', 0) + 1; open(p, 'w').write(json.dumps(s)); \
         print(s['count']){then}"
    )
}

fn counter(w: &World, name: &str, extra: Value) {
    let mut fields = json!({"state": {"version": 1}});
    if let (Value::Object(f), Value::Object(e)) = (&mut fields, extra) {
        f.extend(e);
    }
    session_skill(w, name, &interpreter("python3"), fields);
}

fn sent_ok(w: &World, id: &str, input: &str) -> String {
    let (code, out, err) = send(w, id, input);
    assert_eq!(code, 0, "{input}: {err}");
    out
}

#[test]
fn a_session_counter_survives_a_daemon_restart_and_replay_does_not_count_twice() {
    let w = World::new();
    counter(
        &w,
        "tally",
        json!({"session_config": {"restore": "replay"}}),
    );
    let id = start(&w, &["tally"]);
    for expected in 1..=3 {
        assert_eq!(sent_ok(&w, &id, &bump("")), format!("{expected}\n"));
    }
    assert_eq!(export(&w, "tally"), json!({"count": 3}));
    assert_eq!(w.run(&["daemon", "stop"]).0, 0);

    // The next command starts a daemon that replays the three inputs: they were saved the
    // first time, so the count stays 3 and the next input makes it 4.
    assert!(eventually(
        Duration::from_secs(15),
        || status_of(&w, &id)["status"] == "live"
    ));
    assert_eq!(
        export(&w, "tally"),
        json!({"count": 3}),
        "replay saved nothing"
    );
    assert_eq!(sent_ok(&w, &id, &bump("")), "4\n");
    assert_eq!(export(&w, "tally"), json!({"count": 4}));

    // A new session starts from the committed document too.
    let other = start(&w, &["tally"]);
    assert_eq!(sent_ok(&w, &other, &bump("")), "5\n");
    assert_eq!(export(&w, "tally"), json!({"count": 5}));
    assert_eq!(w.run(&["daemon", "stop"]).0, 0);
}

#[test]
fn a_failed_or_killed_send_commits_nothing() {
    let w = World::new();
    counter(&w, "tally", json!({}));
    let id = start(&w, &["tally"]);
    assert_eq!(sent_ok(&w, &id, &bump("")), "1\n");

    // The input writes 2, then fails: nothing is saved, and the next input starts from 1.
    let (code, _, err) = send(&w, &id, &bump("; 1/0"));
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("was not saved"), "the reply says so: {err}");
    assert_eq!(export(&w, "tally"), json!({"count": 1}));
    assert_eq!(
        sent_ok(&w, &id, &bump("")),
        "2\n",
        "the failed input's write was put back, not saved by the next input"
    );

    // The input writes 3, then kills the interpreter: nothing is saved.
    let (code, _, err) = send(&w, &id, &bump("; os._exit(3)"));
    assert_ne!(code, 0, "{err}");
    assert_eq!(export(&w, "tally"), json!({"count": 2}));

    // An input that leaves something that is not JSON ends in an error, nothing saved.
    let id = start(&w, &["tally"]);
    let (code, _, err) = send(
        &w,
        &id,
        "import os; open(os.environ['SKILLET_STATE'], 'w').write('{not json')",
    );
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("not valid JSON"), "{err}");
    assert_eq!(export(&w, "tally"), json!({"count": 2}));
    assert_eq!(sent_ok(&w, &id, &bump("")), "3\n");

    // A link planted in place of the document is refused and replaced by the saved one.
    let (code, _, err) = send(
        &w,
        &id,
        "import os; p = os.environ['SKILLET_STATE']; os.remove(p); os.symlink('/etc/passwd', p)",
    );
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(sent_ok(&w, &id, &bump("")), "4\n");
    assert_eq!(export(&w, "tally"), json!({"count": 4}));

    // Other spellings of "not the document": a hard link to a file the skill keeps beside it,
    // a FIFO, a directory, one with things in it. None is saved, and each is replaced by the saved document.
    for (attack, why) in [
        (
            "import os; p = os.environ['SKILLET_STATE']; q = p + '.keep'; \
             open(q, 'w').write('{\"count\": 1000}'); os.remove(p); os.link(q, p)",
            "hard links",
        ),
        (
            "import os; p = os.environ['SKILLET_STATE']; os.remove(p); os.mkfifo(p)",
            "FIFO",
        ),
        (
            "import os; p = os.environ['SKILLET_STATE']; os.remove(p); os.mkdir(p)",
            "directory",
        ),
        (
            "import os; p = os.environ['SKILLET_STATE']; os.remove(p); os.mkdir(p); \
             os.mkdir(p + '/deeper'); open(p + '/deeper/x', 'w').write('x')",
            "directory",
        ),
    ] {
        let (code, _, err) = send(&w, &id, attack);
        assert_ne!(code, 0, "{attack}: {err}");
        assert!(
            err.contains(why) && err.contains("was not saved"),
            "{attack}: {err}"
        );
        assert_eq!(export(&w, "tally"), json!({"count": 4}), "{attack}");
        assert_eq!(sent_ok(&w, &id, &bump("")), "5\n", "{attack}");
        // Back to 4 for the next attack: the CLI's set is what the session reads next.
        assert_eq!(w.run(&["state", "set", "tally", "count", "4"]).0, 0);
        let (code, _, err) = send(&w, &id, &bump(""));
        assert_eq!(
            code, 1,
            "the session saw 5, the store has 4 set since: {err}"
        );
    }
    assert_eq!(w.run(&["daemon", "stop"]).0, 0);
}

#[test]
fn two_sessions_of_one_skill_conflict_and_the_loser_gets_the_newer_state() {
    let w = World::new();
    counter(&w, "tally", json!({}));
    let a = start(&w, &["tally"]);
    let b = start(&w, &["tally"]);
    assert_eq!(sent_ok(&w, &a, &bump("")), "1\n");

    // `b` started from the empty document and saw nothing of `a`'s commit: its write of 1 is
    // refused, not laid over `a`'s.
    let (code, out, err) = send(&w, &b, &bump(""));
    assert_eq!(out, "1\n");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("another run or session of `tally` saved its state"),
        "{err}"
    );
    assert_eq!(export(&w, "tally"), json!({"count": 1}));

    // `b` now holds the newer document, so sending the input again counts on from it.
    assert_eq!(sent_ok(&w, &b, &bump("")), "2\n");
    assert_eq!(export(&w, "tally"), json!({"count": 2}));
    // `a` last saw 1: its next write meets `b`'s commit in turn.
    let (code, _, err) = send(&w, &a, &bump(""));
    assert_eq!(code, 1, "{err}");
    assert_eq!(export(&w, "tally"), json!({"count": 2}));
    assert_eq!(sent_ok(&w, &a, &bump("")), "3\n");
    assert_eq!(export(&w, "tally"), json!({"count": 3}));
    assert_eq!(w.run(&["daemon", "stop"]).0, 0);
}

#[test]
fn a_session_skill_cannot_retry_on_conflict() {
    let w = World::new();
    counter(
        &w,
        "retrying",
        json!({"state": {"version": 1, "on_conflict": "retry"}}),
    );
    let (code, _, err) = w.run(&["validate", "retrying"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("cannot retry on a conflict") && err.contains("\"fail\""),
        "{err}"
    );
    counter(
        &w,
        "failing",
        json!({"state": {"version": 1, "on_conflict": "fail"}}),
    );
    let (code, _, err) = w.run(&["validate", "failing"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_session_starts_from_the_migrated_document_and_a_one_run_credential_saves_nothing() {
    let w = World::new();
    counter(&w, "tally", json!({}));
    let id = start(&w, &["tally"]);
    assert_eq!(sent_ok(&w, &id, &bump("")), "1\n");
    assert_eq!(w.run(&["session", "close", &id]).0, 0);

    // Version 2 keeps the count ten times larger: the migration runs before the session's
    // interpreter sees the document, once.
    w.write(
        ".skillet/skills/lift.py",
        "import json, os\np = os.environ['SKILLET_STATE']\ns = json.load(open(p))\n\
         s['count'] = s['count'] * 10\nopen(p, 'w').write(json.dumps(s))\n",
    );
    let lift = w.path(".skillet/skills/lift.py").display().to_string();
    counter(
        &w,
        "tally",
        json!({"state": {"version": 2, "migrate": {"1": [interpreter("python3"), lift]}}}),
    );
    let id = start(&w, &["tally"]);
    assert_eq!(sent_ok(&w, &id, &bump("")), "11\n");
    assert_eq!(export(&w, "tally"), json!({"count": 11}));
    assert_eq!(w.run(&["session", "close", &id]).0, 0);

    // A credential given to this session only never reaches the saved state.
    let keep_token = "import json, os; p = os.environ['SKILLET_STATE']; s = json.load(open(p)); \
                      s['seen'] = os.environ.get('DEPLOY_TOKEN', '')[::-1]; \
                      open(p, 'w').write(json.dumps(s)); print('ok')";
    let out = w
        .skillet()
        .env("DEPLOY_TOKEN", "tok-5eCr3t")
        .args(["session", "start", "tally", "--allow-env", "DEPLOY_TOKEN"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (code, out, err) = send(&w, &id, keep_token);
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
    assert!(
        err.contains("was not saved") && err.contains("DEPLOY_TOKEN"),
        "{err}"
    );
    assert_eq!(export(&w, "tally"), json!({"count": 11}));
    assert_eq!(w.run(&["daemon", "stop"]).0, 0);
}
