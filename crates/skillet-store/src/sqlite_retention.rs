//! Applying a [`Retention`] rule to the SQLite store, and giving the freed pages back to the
//! file system.
//!
//! Every check is an index lookup (`executions_by_time`, `sessions_by_end`, the rowid), so the
//! bounded prune that follows each recorded run costs microseconds when nothing is due. Deletes
//! run in batches of their own transactions, so a large prune never holds the write lock for long
//! against running skills.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::{PruneReport, Retention, StoreError, now_ms};

/// Rows removed per transaction when no batch is given.
const FULL_BATCH: usize = 5_000;

/// Statuses of sessions that are over; any other (live, open, one this build does not know)
/// is kept whatever its age.
const ENDED: &str = "('closed', 'expired', 'dead', 'ended')";

/// `PRAGMA auto_vacuum` value for incremental mode.
const INCREMENTAL: i64 = 2;

/// Pages returned to the file system after a bounded prune: about what a few hundred rows use.
const BOUNDED_VACUUM_PAGES: i64 = 64;

pub(crate) fn prune(conn: &mut Connection, rule: &Retention) -> Result<PruneReport, StoreError> {
    let mut report = PruneReport::default();
    if rule.batch.is_some() && !rule.dry_run && !anything_due(conn, rule)? {
        return Ok(report);
    }
    let threshold = count_threshold(conn, rule)?;
    let sessions_before = later(rule.before_ms, session_count_cutoff(conn, rule)?);
    if rule.dry_run {
        report.executions = count_executions(conn, rule.before_ms, threshold)?;
        let (sessions, turns) = count_sessions(conn, sessions_before)?;
        (report.sessions, report.turns) = (sessions, turns);
        report.states = crate::sqlite_state::expire(conn, true)?;
        report.jobs = crate::sqlite_jobs::prune(conn, rule.before_ms, true)?;
        report.authoring = crate::sqlite_authoring::prune(conn, rule.before_ms, None, true)?;
        report.channel_messages = prune_channels(conn, rule, true)?;
        report.logs = crate::sqlite_logs::prune(conn, rule.before_ms, None, true)?;
        return Ok(report);
    }
    let batch = rule.batch.unwrap_or(FULL_BATCH).max(1);
    loop {
        let n = delete_executions(conn, rule.before_ms, threshold, batch)?;
        report.executions += n;
        if rule.batch.is_some() || n < batch as u64 {
            break;
        }
    }
    loop {
        let (sessions, turns) = delete_sessions(conn, sessions_before, batch)?;
        report.sessions += sessions;
        report.turns += turns;
        if rule.batch.is_some() || sessions < batch as u64 {
            break;
        }
    }
    report.states = crate::sqlite_state::expire(conn, false)?;
    report.jobs = crate::sqlite_jobs::prune(conn, rule.before_ms, false)?;
    // The bounded prune takes one batch; the full one takes everything due in one DELETE
    // (authoring rows are few next to executions).
    report.authoring = crate::sqlite_authoring::prune(conn, rule.before_ms, rule.batch, false)?;
    report.channel_messages = prune_channels(conn, rule, false)?;
    report.logs = crate::sqlite_logs::prune(conn, rule.before_ms, rule.batch, false)?;
    if rule.batch.is_some() {
        if !report.is_empty() {
            // Without incremental mode this is a no-op; the full prune converts the file.
            incremental_vacuum(conn, Some(BOUNDED_VACUUM_PAGES))?;
        }
        return Ok(report);
    }
    report.converted = shrink(conn)?;
    Ok(report)
}

/// Whether the bounded prune (the one after every recorded run) has anything to do, asked in
/// one statement: each check is an index lookup, but each statement a process prepares costs
/// it a parse, and a one-shot `skillet run` paid ten of them after almost every run to find
/// nothing due. A check on an empty table is NULL, and so not due.
fn anything_due(conn: &Connection, rule: &Retention) -> Result<bool, StoreError> {
    let keep = rule.max_rows.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let now = now_ms();
    let channel_cutoff = now.saturating_sub(crate::ChannelLimits::default().ttl_ms);
    // Cached: this runs after every recorded run, and a long-lived process (the daemon)
    // would otherwise parse it each time.
    let due: bool = conn
        .prepare_cached(due_sql())?
        .query_row(params![rule.before_ms, keep, now, channel_cutoff], |r| {
            r.get(0)
        })?;
    Ok(due)
}

/// [`anything_due`]'s statement: one text, so the statement cache finds what
/// [`crate::SqliteStore::prepare_recording`] compiled.
pub(crate) fn due_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT coalesce((?2 IS NOT NULL AND \
                     (SELECT max(rowid) FROM executions) - (SELECT min(rowid) FROM executions) >= ?2) \
                 OR (?2 IS NOT NULL AND \
                     (SELECT max(rowid) FROM sessions) - (SELECT min(rowid) FROM sessions) >= ?2) \
                 OR EXISTS (SELECT 1 FROM executions WHERE started_at < ?1) \
                 OR EXISTS (SELECT 1 FROM sessions WHERE {sessions}) \
                 OR EXISTS (SELECT 1 FROM skill_state \
                            WHERE expires_at IS NOT NULL AND expires_at <= ?3) \
                 OR EXISTS (SELECT 1 FROM jobs WHERE {jobs}) \
                 OR EXISTS (SELECT 1 FROM authoring_events WHERE at < ?1) \
                 OR EXISTS (SELECT 1 FROM log_lines WHERE at < ?1) \
                 OR EXISTS (SELECT 1 FROM channels c WHERE {channels}), 0)",
            sessions = due_sessions().replace("?2", "?3"),
            jobs = crate::sqlite_jobs::PRUNABLE,
            channels = crate::sqlite_channels::HOLDS_EXPIRED.replace("?1", "?4"),
        )
    });
    &SQL
}

/// Counts (`dry_run`) or deletes, oldest first, up to `limit` rows of `table` (one of the
/// store's own tables, with an `at` column in ms) from before `before_ms`.
pub(crate) fn prune_older(
    conn: &Connection,
    table: &'static str,
    before_ms: Option<i64>,
    limit: Option<usize>,
    dry_run: bool,
) -> Result<u64, StoreError> {
    let Some(before) = before_ms else {
        return Ok(0);
    };
    if dry_run {
        let n: i64 = conn.query_row(
            &format!("SELECT count(*) FROM {table} WHERE at < ?1"),
            [before],
            |r| r.get(0),
        )?;
        return Ok(u64::try_from(n).unwrap_or(0));
    }
    // A read first: the bounded prune runs after every run, and a DELETE, even of nothing,
    // would wait for the write lock another process holds.
    let due: bool = conn.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE at < ?1)"),
        [before],
        |r| r.get(0),
    )?;
    if !due {
        return Ok(0);
    }
    let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    let removed = conn.execute(
        &format!(
            "DELETE FROM {table} WHERE rowid IN \
             (SELECT rowid FROM {table} WHERE at < ?1 ORDER BY at, rowid LIMIT ?2)"
        ),
        rusqlite::params![before, limit],
    )?;
    Ok(removed as u64)
}

/// Channel messages past the channels' own retention (not `before_ms`: a channel is a
/// mailbox, not history, and keeps its messages for as long as [`ChannelLimits`] says whatever
/// `[history]` keeps). The bounded prune handles a few channels per run.
///
/// [`ChannelLimits`]: crate::ChannelLimits
fn prune_channels(
    conn: &mut Connection,
    rule: &Retention,
    dry_run: bool,
) -> Result<u64, StoreError> {
    const CHANNELS_PER_BOUNDED_PRUNE: usize = 4;
    crate::sqlite_channels::prune(
        conn,
        crate::ChannelLimits::default().ttl_ms,
        rule.batch.map(|_| CHANNELS_PER_BOUNDED_PRUNE),
        dry_run,
    )
}

/// The rowid at and below which executions exceed `max_rows`, if any do. The bounded prune takes
/// the newest rowid minus `max_rows` (two lookups; rowids grow with each insert, and pruning
/// removes the oldest, so they stay close to contiguous); the full prune counts exactly.
fn count_threshold(conn: &Connection, rule: &Retention) -> Result<Option<i64>, StoreError> {
    let Some(max_rows) = rule.max_rows else {
        return Ok(None);
    };
    let keep = i64::try_from(max_rows).unwrap_or(i64::MAX);
    if rule.batch.is_some() {
        let (low, high): (Option<i64>, Option<i64>) = conn.query_row(
            "SELECT (SELECT rowid FROM executions ORDER BY rowid LIMIT 1), \
                    (SELECT rowid FROM executions ORDER BY rowid DESC LIMIT 1)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        return Ok(match (low, high) {
            (Some(low), Some(high)) if high.saturating_sub(low) >= keep => {
                Some(high.saturating_sub(keep))
            }
            _ => None,
        });
    }
    Ok(conn
        .query_row(
            "SELECT rowid FROM executions ORDER BY rowid DESC LIMIT 1 OFFSET ?1",
            [keep],
            |r| r.get(0),
        )
        .optional()?)
}

/// The later of two cutoffs (either may be absent).
fn later(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The end time before which ended sessions exceed `max_rows` (the same count rule as
/// executions: at most that many ended sessions are kept, the most recently ended), if they
/// do. The bounded prune first compares the rowid span, two lookups, and only then walks the
/// `sessions_by_end` index, so a run with nothing due pays microseconds.
fn session_count_cutoff(conn: &Connection, rule: &Retention) -> Result<Option<i64>, StoreError> {
    let Some(max_rows) = rule.max_rows else {
        return Ok(None);
    };
    let keep = i64::try_from(max_rows).unwrap_or(i64::MAX);
    if rule.batch.is_some() {
        let span: Option<i64> = conn.query_row(
            "SELECT (SELECT rowid FROM sessions ORDER BY rowid DESC LIMIT 1) - \
                    (SELECT rowid FROM sessions ORDER BY rowid LIMIT 1)",
            [],
            |r| r.get(0),
        )?;
        if span.is_none_or(|s| s < keep) {
            return Ok(None);
        }
    }
    // The (keep+1)-th most recently ended: it and everything that ended before it go.
    let nth: Option<i64> = conn
        .query_row(
            &format!(
                "SELECT ended_at FROM sessions WHERE ended_at IS NOT NULL AND status IN {ENDED} \
                 ORDER BY ended_at DESC LIMIT 1 OFFSET ?1"
            ),
            [keep],
            |r| r.get(0),
        )
        .optional()?;
    Ok(nth.map(|t| t.saturating_add(1)))
}

fn count_executions(
    conn: &Connection,
    before_ms: Option<i64>,
    threshold: Option<i64>,
) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM executions WHERE started_at < ?1) + \
                (SELECT COUNT(*) FROM executions WHERE rowid <= ?2 AND started_at >= ?1)",
        params![before_ms.unwrap_or(i64::MIN), threshold.unwrap_or(i64::MIN)],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn delete_executions(
    conn: &mut Connection,
    before_ms: Option<i64>,
    threshold: Option<i64>,
    batch: usize,
) -> Result<u64, StoreError> {
    // A read first: when nothing is due, as after almost every run, no write lock is taken.
    let due: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM executions WHERE started_at < ?1) \
             OR EXISTS (SELECT 1 FROM executions WHERE rowid <= ?2)",
        params![before_ms.unwrap_or(i64::MIN), threshold.unwrap_or(i64::MIN)],
        |r| r.get(0),
    )?;
    if !due {
        return Ok(0);
    }
    let limit = i64::try_from(batch).unwrap_or(i64::MAX);
    let tx = rusqlite::Transaction::new(conn, TransactionBehavior::Immediate)?;
    let mut removed = 0;
    if let Some(before) = before_ms {
        removed += tx.execute(
            "DELETE FROM executions WHERE rowid IN \
             (SELECT rowid FROM executions WHERE started_at < ?1 ORDER BY started_at LIMIT ?2)",
            params![before, limit],
        )?;
    }
    let left = limit - i64::try_from(removed).unwrap_or(0);
    if let Some(threshold) = threshold
        && left > 0
    {
        removed += tx.execute(
            "DELETE FROM executions WHERE rowid IN \
             (SELECT rowid FROM executions WHERE rowid <= ?1 ORDER BY rowid LIMIT ?2)",
            params![threshold, left],
        )?;
    }
    tx.commit()?;
    Ok(removed as u64)
}

/// The condition on `sessions` rows that may go; `?1` is the cutoff, `?2` now.
fn due_sessions() -> String {
    format!(
        "ended_at IS NOT NULL AND ended_at < ?1 AND status IN {ENDED} \
         AND (lease_expires_at IS NULL OR lease_expires_at < ?2)"
    )
}

fn count_sessions(conn: &Connection, before_ms: Option<i64>) -> Result<(u64, u64), StoreError> {
    let Some(before) = before_ms else {
        return Ok((0, 0));
    };
    let (sessions, turns): (i64, i64) = conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM((SELECT COUNT(*) FROM session_turns t WHERE t.session_id = s.id)), 0) \
             FROM sessions s WHERE {}",
            due_sessions()
        ),
        params![before, now_ms()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((
        u64::try_from(sessions).unwrap_or(0),
        u64::try_from(turns).unwrap_or(0),
    ))
}

fn delete_sessions(
    conn: &mut Connection,
    before_ms: Option<i64>,
    batch: usize,
) -> Result<(u64, u64), StoreError> {
    let Some(before) = before_ms else {
        return Ok((0, 0));
    };
    let due: bool = conn.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE {})",
            due_sessions()
        ),
        params![before, now_ms()],
        |r| r.get(0),
    )?;
    if !due {
        return Ok((0, 0));
    }
    let limit = i64::try_from(batch).unwrap_or(i64::MAX);
    let tx = rusqlite::Transaction::new(conn, TransactionBehavior::Immediate)?;
    // Chosen and deleted in one write transaction: a session cannot come back to life (or be
    // leased) between the choice and the delete.
    let ids: Vec<String> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT id FROM sessions WHERE {} ORDER BY ended_at LIMIT ?3",
            due_sessions()
        ))?;
        stmt.query_map(params![before, now_ms(), limit], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut turns = 0;
    for id in &ids {
        turns += tx.execute("DELETE FROM session_turns WHERE session_id = ?1", [id])?;
        tx.execute("DELETE FROM sessions WHERE id = ?1", [id])?;
    }
    tx.commit()?;
    Ok((ids.len() as u64, turns as u64))
}

/// Gives free pages back to the file system. A database made before incremental auto-vacuum
/// is rewritten once (`VACUUM`), which is what switching modes takes; later prunes only
/// truncate. Returns whether the rewrite happened.
fn shrink(conn: &Connection) -> Result<bool, StoreError> {
    let mode: i64 = conn.pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
    let converted = mode != INCREMENTAL;
    if converted {
        conn.pragma_update(None, "auto_vacuum", INCREMENTAL)?;
        conn.execute_batch("VACUUM")?;
    } else {
        incremental_vacuum(conn, None)?;
    }
    // In WAL mode the file shrinks when the log is checkpointed into it; TRUNCATE also empties
    // the log. Readers of other processes may hold it back; the next checkpoint finishes.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(converted)
}

/// Frees up to `pages` (all, for `None`) free pages. SQLite frees one page per step of the
/// statement, so it is stepped to the end.
fn incremental_vacuum(conn: &Connection, pages: Option<i64>) -> Result<(), StoreError> {
    let sql = match pages {
        Some(n) => format!("PRAGMA incremental_vacuum({n})"),
        None => "PRAGMA incremental_vacuum".to_owned(),
    };
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}
