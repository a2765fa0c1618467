//! Sessions and their transcripts: saved, listed newest first, found by id or prefix.

use skillet_store::{
    SessionQuery, SessionRecord, SessionStatus, StoreError, TurnOutcome, TurnRecord,
};

use crate::Db;

crate::both!(
    sessions_and_transcripts_survive_reopening,
    every_field_reads_back_as_saved,
    words_this_build_does_not_know_are_kept_not_refused,
    sessions_are_listed_newest_first_by_skill_status_and_limit,
    an_id_is_found_exactly_or_by_an_unambiguous_prefix,
    a_turn_saved_again_under_its_number_replaces_it,
    a_turn_whose_output_holds_a_nul_is_kept,
);

pub(crate) fn session(id: &str, status: &str, created: i64) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        skill: "py".into(),
        label: None,
        status: status.into(),
        start: "{}".into(),
        replay: false,
        pid: None,
        created_at_ms: created,
        last_used_at_ms: created,
        ended_at_ms: None,
        exit_code: None,
        reason: None,
        turns: 0,
    }
}

fn turn(session_id: &str, seq: i64, input: &str) -> TurnRecord {
    TurnRecord {
        session_id: session_id.into(),
        seq,
        source: "user".into(),
        input: input.into(),
        stdout: String::new(),
        stderr: String::new(),
        exit_status: Some(0),
        outcome: "ok".into(),
        started_at_ms: seq,
        duration_ms: 1,
        truncated: false,
    }
}

fn ids(sessions: &[SessionRecord]) -> Vec<&str> {
    sessions.iter().map(|s| s.id.as_str()).collect()
}

fn sessions_and_transcripts_survive_reopening(db: &Db) {
    {
        let store = db.open();
        store
            .save_session(&session("0001-a", "live", 1))
            .expect("save");
        store
            .save_session(&session("0002-b", "live", 2))
            .expect("save");
        let mut ended = session("0001-a", "closed", 1);
        ended.ended_at_ms = Some(9);
        store.save_session(&ended).expect("save");
        for seq in 1..=2 {
            store
                .add_turn(&turn("0001-a", seq, &format!("x = {seq}")))
                .expect("turn");
        }
    }
    let store = db.open();
    let all = store.sessions(&SessionQuery::default()).expect("list");
    assert_eq!(ids(&all), ["0002-b", "0001-a"]);
    let a = store
        .session("0001")
        .expect("get")
        .expect("prefix not found");
    assert_eq!(
        (a.status.as_str(), a.turns, a.ended_at_ms),
        ("closed", 2, Some(9))
    );
    let turns = store.turns("0001-a").expect("turns");
    assert_eq!(
        turns.iter().map(|t| t.input.as_str()).collect::<Vec<_>>(),
        ["x = 1", "x = 2"]
    );
    assert!(
        store.session("000").is_err(),
        "an ambiguous prefix is refused"
    );
    let live = store
        .sessions(&SessionQuery {
            status: Some("live".into()),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(ids(&live), ["0002-b"]);
}

fn every_field_reads_back_as_saved(db: &Db) {
    let store = db.open();
    let full = SessionRecord {
        id: "0190-full".into(),
        skill: "repl".into(),
        label: Some("my label".into()),
        status: SessionStatus::Dead,
        start: "{\"params\":{\"x\":1}}".into(),
        replay: true,
        pid: Some(4242),
        created_at_ms: 1_700_000_000_000,
        last_used_at_ms: 1_700_000_000_500,
        ended_at_ms: Some(1_700_000_001_000),
        exit_code: Some(-9),
        reason: Some("killed".into()),
        turns: 0,
    };
    store.save_session(&full).expect("save");
    let t = TurnRecord {
        session_id: full.id.clone(),
        seq: 1,
        source: "pipe:0190-other".into(),
        input: "print('é')".into(),
        stdout: "é\n".into(),
        stderr: "warn\n".into(),
        exit_status: Some(-2),
        outcome: TurnOutcome::Timeout,
        started_at_ms: 1_700_000_000_100,
        duration_ms: 250,
        truncated: true,
    };
    store.add_turn(&t).expect("turn");
    let mut expected = full.clone();
    expected.turns = 1;
    let other = db.open();
    assert_eq!(other.session("0190-full").expect("get"), Some(expected));
    assert_eq!(other.turns("0190-full").expect("turns"), [t]);
    let mut none = full.clone();
    none.id = "0190-none".into();
    none.exit_code = None;
    none.label = None;
    none.pid = None;
    none.ended_at_ms = None;
    none.reason = None;
    none.replay = false;
    store.save_session(&none).expect("save");
    assert_eq!(other.session("0190-none").expect("get"), Some(none));
    assert!(other.turns("0190-none").expect("turns").is_empty());
}

/// A status or an outcome a newer skillet writes is kept as it was written.
fn words_this_build_does_not_know_are_kept_not_refused(db: &Db) {
    let store = db.open();
    let mut paused = session("0003-c", "paused", 3);
    paused.status = SessionStatus::Unknown("paused".into());
    store.save_session(&paused).expect("save");
    let mut t = turn("0003-c", 1, "x");
    t.outcome = TurnOutcome::Unknown("cancelled".into());
    t.exit_status = None;
    store.add_turn(&t).expect("turn");
    let store = db.open();
    let read = store.session("0003-c").expect("get").expect("found");
    assert_eq!(read.status, SessionStatus::Unknown("paused".into()));
    assert_eq!(
        serde_json::to_value(&read).expect("json")["status"],
        "paused",
        "shown as stored"
    );
    let turns = store.turns("0003-c").expect("turns");
    assert_eq!(turns[0].outcome, TurnOutcome::Unknown("cancelled".into()));
    assert_eq!(turns[0].exit_status, None);
    let listed = store
        .sessions(&SessionQuery {
            status: Some(SessionStatus::Unknown("paused".into())),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(ids(&listed), ["0003-c"]);
}

fn sessions_are_listed_newest_first_by_skill_status_and_limit(db: &Db) {
    let store = db.open();
    let mut rows = vec![
        session("0001-a", "live", 10),
        session("0002-b", "open", 20),
        session("0003-c", "live", 30),
        // The same start: the larger id first.
        session("0004-d", "closed", 30),
    ];
    rows[1].skill = "other".into();
    for r in &rows {
        store.save_session(r).expect("save");
    }
    let all = store.sessions(&SessionQuery::default()).expect("list");
    assert_eq!(ids(&all), ["0004-d", "0003-c", "0002-b", "0001-a"]);
    let py = store
        .sessions(&SessionQuery {
            skill: Some("py".into()),
            ..Default::default()
        })
        .expect("list");
    assert_eq!(ids(&py), ["0004-d", "0003-c", "0001-a"]);
    let live_py = store
        .sessions(&SessionQuery {
            skill: Some("py".into()),
            status: Some(SessionStatus::Live),
            limit: 1,
        })
        .expect("list");
    assert_eq!(ids(&live_py), ["0003-c"]);
    let two = store
        .sessions(&SessionQuery {
            limit: 2,
            ..Default::default()
        })
        .expect("list");
    assert_eq!(ids(&two), ["0004-d", "0003-c"]);
    assert!(
        store
            .sessions(&SessionQuery {
                skill: Some("nope".into()),
                ..Default::default()
            })
            .expect("list")
            .is_empty()
    );
}

fn an_id_is_found_exactly_or_by_an_unambiguous_prefix(db: &Db) {
    let store = db.open();
    for id in ["0190-ab", "0190-ab1", "0190-ac", "0191-x"] {
        store.save_session(&session(id, "live", 1)).expect("save");
    }
    // An exact id wins over the longer ids it starts.
    assert_eq!(
        store.session("0190-ab").expect("get").map(|s| s.id),
        Some("0190-ab".into())
    );
    assert_eq!(
        store.session("0190-ac").expect("get").map(|s| s.id),
        Some("0190-ac".into())
    );
    // A prefix is compared in lower case.
    assert_eq!(
        store.session("0191-X").expect("get").map(|s| s.id),
        Some("0191-x".into())
    );
    assert_eq!(
        store.session("0191").expect("get").map(|s| s.id),
        Some("0191-x".into())
    );
    assert_eq!(store.session("0192").expect("get"), None);
    assert_eq!(
        store.session("").expect("get"),
        None,
        "an empty prefix names none"
    );
    match store.session("0190-a") {
        Err(StoreError::Ambiguous {
            what,
            prefix,
            count,
            at_least,
        }) => {
            assert_eq!(
                (what, prefix.as_str(), count, at_least),
                ("sessions", "0190-a", 3, false)
            );
        }
        other => panic!("an ambiguous prefix gave {other:?}"),
    }
    let err = store.session("019").expect_err("ambiguous").to_string();
    assert!(err.contains("matches 4 sessions"), "{err}");
    // Ids compare by code point: a prefix of the last one there is still found.
    store
        .save_session(&session("\u{10FFFF}-last", "live", 1))
        .expect("save");
    assert_eq!(
        store.session("\u{10FFFF}").expect("get").map(|s| s.id),
        Some("\u{10FFFF}-last".into())
    );
    assert_eq!(
        store.session("\u{E000}").expect("get"),
        None,
        "a prefix that matches nothing"
    );
}

fn a_turn_saved_again_under_its_number_replaces_it(db: &Db) {
    let store = db.open();
    store.save_session(&session("s1", "live", 1)).expect("save");
    store.add_turn(&turn("s1", 1, "first")).expect("turn");
    store.add_turn(&turn("s1", 2, "second")).expect("turn");
    store.add_turn(&turn("s1", 1, "again")).expect("turn");
    let turns = store.turns("s1").expect("turns");
    assert_eq!(
        turns
            .iter()
            .map(|t| (t.seq, t.input.as_str()))
            .collect::<Vec<_>>(),
        [(1, "again"), (2, "second")]
    );
    assert_eq!(store.session("s1").expect("get").expect("found").turns, 2);
    assert!(store.turns("nope").expect("turns").is_empty());
}

/// A program's output may hold a NUL: the turn is kept (PostgreSQL, whose text cannot hold
/// one, keeps U+FFFD in its place).
fn a_turn_whose_output_holds_a_nul_is_kept(db: &Db) {
    let store = db.open();
    store.save_session(&session("s1", "live", 1)).expect("save");
    let mut t = turn("s1", 1, "print('a\\0b')");
    t.stdout = "a\0b\n".into();
    store.add_turn(&t).expect("a NUL in the output is no error");
    let back = store.turns("s1").expect("turns");
    let expected = match db.backend() {
        "sqlite" => "a\0b\n",
        _ => "a\u{FFFD}b\n",
    };
    assert_eq!(back[0].stdout, expected);
    assert_eq!(back[0].input, t.input);
}
