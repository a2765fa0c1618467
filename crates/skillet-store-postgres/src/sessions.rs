//! Sessions and their transcripts.

use skillet_store::{SessionQuery, SessionRecord, StoreError, TurnRecord};
use tokio_postgres::Row;

use crate::PostgresStore;
use crate::error::OrStoreError;

const COLUMNS: &str = "id, skill, label, status, start, replay, pid, created_at, last_used_at, ended_at, exit_code, reason, \
    (SELECT COUNT(*) FROM session_turns t WHERE t.session_id = sessions.id)";

/// Matches of an ambiguous prefix counted at most, so that a one-character prefix of a big
/// history still answers at once (as in the SQLite store).
const AMBIGUOUS_COUNT_CAP: usize = 1_000;

/// An `i32` kept in a `BIGINT` column (an exit code, a status).
pub(crate) fn int32(value: Option<i64>, what: &str) -> Result<Option<i32>, StoreError> {
    value
        .map(|v| {
            i32::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is out of range")))
        })
        .transpose()
}

fn from_row(r: &Row) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: r.get(0),
        skill: r.get(1),
        label: r.get(2),
        status: r.get::<_, String>(3).into(),
        start: r.get(4),
        replay: r.get::<_, i64>(5) != 0,
        pid: r.get(6),
        created_at_ms: r.get(7),
        last_used_at_ms: r.get(8),
        ended_at_ms: r.get(9),
        exit_code: int32(r.get(10), "exit code")?,
        reason: r.get(11),
        turns: r.get(12),
    })
}

pub(crate) fn save(st: &PostgresStore, s: &SessionRecord) -> Result<(), StoreError> {
    let replay = i64::from(s.replay);
    let exit_code = s.exit_code.map(i64::from);
    st.connections().call(async |c| {
        c.execute(
            // An upsert that leaves the lease columns alone: saving the row keeps its lease.
            "INSERT INTO sessions (id, skill, label, status, start, replay, pid, created_at, last_used_at, ended_at, exit_code, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (id) DO UPDATE SET skill = excluded.skill, label = excluded.label, status = excluded.status,
               start = excluded.start, replay = excluded.replay, pid = excluded.pid, created_at = excluded.created_at,
               last_used_at = excluded.last_used_at, ended_at = excluded.ended_at, exit_code = excluded.exit_code,
               reason = excluded.reason",
            &[
                &s.id,
                &s.skill,
                &s.label,
                &s.status.as_str(),
                &s.start,
                &replay,
                &s.pid,
                &s.created_at_ms,
                &s.last_used_at_ms,
                &s.ended_at_ms,
                &exit_code,
                &s.reason,
            ],
        )
        .await
        .db()?;
        Ok(())
    })
}

pub(crate) fn list(s: &PostgresStore, q: &SessionQuery) -> Result<Vec<SessionRecord>, StoreError> {
    let limit = match q.limit {
        0 => None,
        n => Some(i64::try_from(n).unwrap_or(i64::MAX)),
    };
    let status = q.status.as_ref().map(|s| s.as_str().to_owned());
    s.connections().call(async |c| {
        let rows = c
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM sessions
                     WHERE ($1::TEXT IS NULL OR skill = $1) AND ($2::TEXT IS NULL OR status = $2)
                     ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $3"
                ),
                &[&q.skill, &status, &limit],
            )
            .await
            .db()?;
        rows.iter().map(from_row).collect()
    })
}

/// The session whose id is `id`, or else the only one whose id starts with it (in lower case),
/// as the SQLite store finds it: ids compare by code point (`COLLATE "C"`, as SQLite's
/// `BINARY`), so a prefix is a range of the index on `id COLLATE "C"`.
pub(crate) fn get(s: &PostgresStore, id: &str) -> Result<Option<SessionRecord>, StoreError> {
    // An empty prefix would be every row: it names none. PostgreSQL text holds no NUL, so an
    // id with one names none either.
    if id.is_empty() || id.contains('\0') {
        return Ok(None);
    }
    let prefix = id.to_lowercase();
    // A bounded range, so that a prefix nothing matches stops at once; only a prefix of
    // nothing but U+10FFFF has no successor, and then everything above it matches.
    let (range, end) = match prefix_end(&prefix) {
        Some(end) => ("id COLLATE \"C\" >= $1 AND id COLLATE \"C\" < $2", end),
        None => (
            "id COLLATE \"C\" >= $1 AND $2::TEXT IS NOT NULL",
            String::new(),
        ),
    };
    s.connections().call(async |c| {
        if let Some(row) = c
            .query_opt(&format!("SELECT {COLUMNS} FROM sessions WHERE id = $1"), &[&id])
            .await
            .db()?
        {
            return from_row(&row).map(Some);
        }
        let mut found = c
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM sessions WHERE {range} ORDER BY id COLLATE \"C\" LIMIT 2"
                ),
                &[&prefix, &end],
            )
            .await
            .db()?;
        match found.len() {
            0 => Ok(None),
            1 => found.pop().map(|r| from_row(&r)).transpose(),
            _ => {
                let count: i64 = c
                    .query_one(
                        &format!(
                            "SELECT COUNT(*) FROM (SELECT 1 FROM sessions WHERE {range} LIMIT {AMBIGUOUS_COUNT_CAP}) m"
                        ),
                        &[&prefix, &end],
                    )
                    .await
                    .db()?
                    .get(0);
                let count = usize::try_from(count).unwrap_or(usize::MAX);
                Err(StoreError::Ambiguous {
                    what: "sessions",
                    prefix: id.to_owned(),
                    count,
                    at_least: count >= AMBIGUOUS_COUNT_CAP,
                })
            }
        }
    })
}

/// The smallest string greater than every string that starts with `prefix`, in code point
/// order: `prefix` with its last character increased, after dropping trailing characters that
/// have no successor.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

pub(crate) fn add_turn(s: &PostgresStore, t: &TurnRecord) -> Result<(), StoreError> {
    let exit_status = t.exit_status.map(i64::from);
    let truncated = i64::from(t.truncated);
    let (input, stdout, stderr) = (
        crate::text::without_nul(&t.input),
        crate::text::without_nul(&t.stdout),
        crate::text::without_nul(&t.stderr),
    );
    s.connections().call(async |c| {
        c.execute(
            "INSERT INTO session_turns (session_id, seq, source, input, stdout, stderr, exit_status, outcome, started_at, duration_ms, truncated)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (session_id, seq) DO UPDATE SET source = excluded.source, input = excluded.input,
               stdout = excluded.stdout, stderr = excluded.stderr, exit_status = excluded.exit_status,
               outcome = excluded.outcome, started_at = excluded.started_at,
               duration_ms = excluded.duration_ms, truncated = excluded.truncated",
            &[
                &t.session_id,
                &t.seq,
                &t.source,
                &input,
                &stdout,
                &stderr,
                &exit_status,
                &t.outcome.as_str(),
                &t.started_at_ms,
                &t.duration_ms,
                &truncated,
            ],
        )
        .await
        .db()?;
        Ok(())
    })
}

pub(crate) fn turns(s: &PostgresStore, session_id: &str) -> Result<Vec<TurnRecord>, StoreError> {
    s.connections().call(async |c| {
        let rows = c
            .query(
                "SELECT session_id, seq, source, input, stdout, stderr, exit_status, outcome, started_at, duration_ms, truncated
                 FROM session_turns WHERE session_id = $1 ORDER BY seq",
                &[&session_id],
            )
            .await
            .db()?;
        rows.iter()
            .map(|r| {
                Ok(TurnRecord {
                    session_id: r.get(0),
                    seq: r.get(1),
                    source: r.get(2),
                    input: r.get(3),
                    stdout: r.get(4),
                    stderr: r.get(5),
                    exit_status: int32(r.get(6), "exit status")?,
                    outcome: r.get::<_, String>(7).into(),
                    started_at_ms: r.get(8),
                    duration_ms: r.get(9),
                    truncated: r.get::<_, i64>(10) != 0,
                })
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_at_its_last_character_increased() {
        assert_eq!(prefix_end("0190-a").as_deref(), Some("0190-b"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }
}
