//! The SQLite tables of sessions and their transcripts.

use rusqlite::{Connection, Row, params};

use crate::sqlite_ids::find_by_id;
use crate::{SessionQuery, SessionRecord, StoreError, TurnRecord};

const COLUMNS: &str = "id, skill, label, status, start, replay, pid, created_at, last_used_at, ended_at, exit_code, reason, \
    (SELECT COUNT(*) FROM session_turns t WHERE t.session_id = sessions.id)";

fn from_row(r: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id: r.get(0)?,
        skill: r.get(1)?,
        label: r.get(2)?,
        status: r.get(3)?,
        start: r.get(4)?,
        replay: r.get(5)?,
        pid: r.get(6)?,
        created_at_ms: r.get(7)?,
        last_used_at_ms: r.get(8)?,
        ended_at_ms: r.get(9)?,
        exit_code: r.get(10)?,
        reason: r.get(11)?,
        turns: r.get(12)?,
    })
}

pub(crate) fn save(conn: &Connection, s: &SessionRecord) -> Result<(), StoreError> {
    conn.execute(
        // An upsert, not INSERT OR REPLACE: replacing the row would drop its lease.
        "INSERT INTO sessions (id, skill, label, status, start, replay, pid, created_at, last_used_at, ended_at, exit_code, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(id) DO UPDATE SET skill = excluded.skill, label = excluded.label, status = excluded.status,
           start = excluded.start, replay = excluded.replay, pid = excluded.pid, created_at = excluded.created_at,
           last_used_at = excluded.last_used_at, ended_at = excluded.ended_at, exit_code = excluded.exit_code,
           reason = excluded.reason",
        params![
            s.id, s.skill, s.label, s.status, s.start, s.replay, s.pid, s.created_at_ms, s.last_used_at_ms,
            s.ended_at_ms, s.exit_code, s.reason
        ],
    )?;
    Ok(())
}

pub(crate) fn list(conn: &Connection, q: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
    let limit = if q.limit == 0 {
        -1
    } else {
        i64::try_from(q.limit).unwrap_or(i64::MAX)
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sessions
         WHERE (?1 IS NULL OR skill = ?1) AND (?2 IS NULL OR status = ?2)
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![q.skill, q.status, limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<SessionRecord>, StoreError> {
    find_by_id(conn, "sessions", COLUMNS, id, from_row)
}

pub(crate) fn add_turn(conn: &Connection, t: &TurnRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR REPLACE INTO session_turns (session_id, seq, source, input, stdout, stderr, exit_status, outcome, started_at, duration_ms, truncated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            t.session_id, t.seq, t.source, t.input, t.stdout, t.stderr, t.exit_status, t.outcome, t.started_at_ms,
            t.duration_ms, t.truncated
        ],
    )?;
    Ok(())
}

pub(crate) fn turns(conn: &Connection, session_id: &str) -> Result<Vec<TurnRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT session_id, seq, source, input, stdout, stderr, exit_status, outcome, started_at, duration_ms, truncated
         FROM session_turns WHERE session_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([session_id], |r| {
        Ok(TurnRecord {
            session_id: r.get(0)?,
            seq: r.get(1)?,
            source: r.get(2)?,
            input: r.get(3)?,
            stdout: r.get(4)?,
            stderr: r.get(5)?,
            exit_status: r.get(6)?,
            outcome: r.get(7)?,
            started_at_ms: r.get(8)?,
            duration_ms: r.get(9)?,
            truncated: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use crate::{
        SessionQuery, SessionRecord, SessionStatus, SqliteStore, Store, TurnOutcome, TurnRecord,
    };

    fn session(id: &str, status: &str, created: i64) -> SessionRecord {
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

    #[test]
    fn sessions_and_transcripts_survive_reopening() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("skillet.db");
        {
            let store = SqliteStore::open(&path)?;
            store.save_session(&session("0001-a", "live", 1))?;
            store.save_session(&session("0002-b", "live", 2))?;
            let mut ended = session("0001-a", "closed", 1);
            ended.ended_at_ms = Some(9);
            store.save_session(&ended)?;
            for seq in 1..=2 {
                store.add_turn(&TurnRecord {
                    session_id: "0001-a".into(),
                    seq,
                    source: "user".into(),
                    input: format!("x = {seq}"),
                    stdout: String::new(),
                    stderr: String::new(),
                    exit_status: Some(0),
                    outcome: "ok".into(),
                    started_at_ms: seq,
                    duration_ms: 1,
                    truncated: false,
                })?;
            }
        }
        let store = SqliteStore::open(&path)?;
        let all = store.sessions(&SessionQuery::default())?;
        assert_eq!(
            all.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["0002-b", "0001-a"]
        );
        let a = store.session("0001")?.ok_or("prefix not found")?;
        assert_eq!(
            (a.status.as_str(), a.turns, a.ended_at_ms),
            ("closed", 2, Some(9))
        );
        let turns = store.turns("0001-a")?;
        assert_eq!(
            turns.iter().map(|t| t.input.as_str()).collect::<Vec<_>>(),
            ["x = 1", "x = 2"]
        );
        assert!(
            store.session("000").is_err(),
            "an ambiguous prefix is refused"
        );
        let live = store.sessions(&SessionQuery {
            status: Some("live".into()),
            ..Default::default()
        })?;
        assert_eq!(live.len(), 1);
        Ok(())
    }

    #[test]
    fn words_this_build_does_not_know_are_kept_not_refused()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("skillet.db");
        let store = SqliteStore::open(&path)?;
        store.save_session(&session("0003-c", "live", 3))?;
        drop(store);
        // As a newer skillet (or a hand edit) would leave them.
        let raw = rusqlite::Connection::open(&path)?;
        raw.execute(
            "UPDATE sessions SET status = 'paused' WHERE id = '0003-c'",
            [],
        )?;
        raw.execute(
            "INSERT INTO session_turns (session_id, seq, source, input, stdout, stderr, exit_status, outcome, started_at, duration_ms, truncated)
             VALUES ('0003-c', 1, 'user', 'x', '', '', NULL, 'cancelled', 1, 1, 0)",
            [],
        )?;
        drop(raw);
        let store = SqliteStore::open(&path)?;
        let read = store.session("0003-c")?.ok_or("not found")?;
        assert_eq!(read.status, SessionStatus::Unknown("paused".into()));
        assert_eq!(
            serde_json::to_value(&read)?["status"],
            "paused",
            "shown as stored"
        );
        let turns = store.turns("0003-c")?;
        assert_eq!(turns[0].outcome, TurnOutcome::Unknown("cancelled".into()));
        assert_eq!(serde_json::to_value(&turns[0])?["outcome"], "cancelled");
        Ok(())
    }
}
