//! Pruning the history by a retention rule, as `sqlite_retention.rs` does: executions by age
//! and by count, ended sessions with their transcripts (never a live, open or leased one, nor
//! a status this build does not know), expired state documents, ended jobs, old channel
//! messages, authoring events and log lines. Circuit breakers are never touched.
//!
//! What differs from SQLite:
//! - "The most recently recorded" executions (the count rule) are the newest by start time
//!   (then id), the order `skillet history` lists them in: PostgreSQL rows have no insertion
//!   number like SQLite's rowid. The same for the bounded prune's quick check, which SQLite
//!   makes on the rowid span: here the count rule is skipped by the bounded prune while the
//!   planner's row estimate (`pg_class.reltuples`, which autovacuum keeps) says the table is
//!   well under the cap, and otherwise found by walking the time index past the rows kept.
//! - Nothing is given back to the file system: autovacuum reuses the space, so
//!   [`PruneReport::converted`] is always false.
//! - Deletes run in their own short transactions; rows another replica holds locked (a
//!   session being leased) are skipped, not waited for.

use deadpool_postgres::Object;
use skillet_store::{ChannelLimits, PruneReport, Retention, StoreError, now_ms};

use crate::PostgresStore;
use crate::error::OrStoreError;

/// Rows removed per transaction when no batch is given.
const FULL_BATCH: usize = 5_000;

/// Statuses of sessions that are over; any other (live, open, one this build does not know)
/// is kept whatever its age.
const ENDED: &str = "('closed', 'expired', 'dead', 'ended')";

/// The condition on a channel `c` whose oldest message was sent at or before `$1`.
const HOLDS_EXPIRED: &str = "(SELECT m.sent_at FROM channel_messages m \
     WHERE m.workspace = c.workspace AND m.owner = c.owner AND m.name = c.name \
     ORDER BY m.seq LIMIT 1) <= $1";

/// Channels whose old messages the bounded prune removes per call.
const CHANNELS_PER_BOUNDED_PRUNE: i64 = 4;

/// Below this share of the count rule's cap, by the planner's estimate, the bounded prune
/// does not count the rows.
const WELL_UNDER: f64 = 0.9;

pub(crate) fn prune(s: &PostgresStore, rule: &Retention) -> Result<PruneReport, StoreError> {
    s.connections().call(async |c| prune_with(c, rule).await)
}

async fn prune_with(c: &mut Object, rule: &Retention) -> Result<PruneReport, StoreError> {
    let mut report = PruneReport::default();
    let now = now_ms();
    let threshold = count_threshold(c, rule).await?;
    let sessions_before = later(rule.before_ms, session_count_cutoff(c, rule).await?);
    if rule.dry_run {
        report.executions = count_executions(c, rule.before_ms, &threshold).await?;
        (report.sessions, report.turns) = count_sessions(c, sessions_before, now).await?;
        report.states = expire_states(c, now, true).await?;
        report.jobs = prune_jobs(c, rule.before_ms, true).await?;
        report.authoring = prune_older(c, Older::Authoring, rule.before_ms, None, true).await?;
        report.channel_messages = prune_channels(c, now, None, true).await?;
        report.logs = prune_older(c, Older::Logs, rule.before_ms, None, true).await?;
        return Ok(report);
    }
    if rule.batch.is_some()
        && threshold.is_none()
        && !anything_due(c, rule.before_ms, sessions_before, now).await?
    {
        return Ok(report);
    }
    let batch = rule.batch.unwrap_or(FULL_BATCH).max(1);
    loop {
        let n = delete_executions(c, rule.before_ms, &threshold, batch).await?;
        report.executions += n;
        if rule.batch.is_some() || n < batch as u64 {
            break;
        }
    }
    loop {
        let (sessions, turns) = delete_sessions(c, sessions_before, now, batch).await?;
        report.sessions += sessions;
        report.turns += turns;
        if rule.batch.is_some() || sessions < batch as u64 {
            break;
        }
    }
    report.states = expire_states(c, now, false).await?;
    report.jobs = prune_jobs(c, rule.before_ms, false).await?;
    // The bounded prune takes one batch; the full one everything due in one DELETE.
    report.authoring = prune_older(c, Older::Authoring, rule.before_ms, rule.batch, false).await?;
    let channels = rule.batch.map(|_| CHANNELS_PER_BOUNDED_PRUNE);
    report.channel_messages = prune_channels(c, now, channels, false).await?;
    report.logs = prune_older(c, Older::Logs, rule.before_ms, rule.batch, false).await?;
    Ok(report)
}

/// Whether the bounded prune (the one after every recorded run) has anything to do, asked in
/// one statement of index lookups: after almost every run nothing is due, and that answer
/// then costs one round trip, and no lock (the log's byte total's row above all, which every
/// append takes).
async fn anything_due(
    c: &Object,
    before_ms: Option<i64>,
    sessions_before: Option<i64>,
    now: i64,
) -> Result<bool, StoreError> {
    let channel_cutoff = now.saturating_sub(ChannelLimits::default().ttl_ms);
    let due: bool = c
        .query_one(
            &format!(
                "SELECT coalesce( \
                     EXISTS (SELECT 1 FROM executions WHERE started_at < $1) \
                  OR EXISTS (SELECT 1 FROM sessions WHERE {sessions}) \
                  OR EXISTS (SELECT 1 FROM skill_state \
                             WHERE expires_at IS NOT NULL AND expires_at <= $3) \
                  OR EXISTS (SELECT 1 FROM jobs WHERE {jobs}) \
                  OR EXISTS (SELECT 1 FROM authoring_events WHERE at < $1) \
                  OR EXISTS (SELECT 1 FROM log_lines WHERE at < $1) \
                  OR EXISTS (SELECT 1 FROM channels c WHERE {channels}), false)",
                sessions = due_sessions("$2", "$3"),
                jobs = crate::jobs::PRUNABLE,
                channels = HOLDS_EXPIRED.replace("$1", "$4"),
            ),
            &[&before_ms, &sessions_before, &now, &channel_cutoff],
        )
        .await
        .db()?
        .get(0);
    Ok(due)
}

fn to_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The later of two cutoffs (either may be absent).
fn later(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Whether the planner's estimate of `table`'s rows is well under `keep` (false when there is
/// no estimate yet: a table never analyzed).
async fn well_under(c: &Object, table: &str, keep: i64) -> Result<bool, StoreError> {
    let estimate: Option<f64> = c
        .query_opt(
            "SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass($1)",
            &[&table],
        )
        .await
        .db()?
        .map(|r| r.get(0));
    Ok(estimate.is_some_and(|n| n >= 0.0 && n < keep as f64 * WELL_UNDER))
}

/// The recording order (`seq`) at and below which executions exceed `max_rows` (the oldest
/// recorded go first, as SQLite's rowid orders them), if they do: the count is kept by a
/// trigger, so this walks only the excess, not the rows kept.
async fn count_threshold(c: &Object, rule: &Retention) -> Result<Option<i64>, StoreError> {
    let Some(max_rows) = rule.max_rows else {
        return Ok(None);
    };
    let rows: i64 = c
        .query_one("SELECT rows FROM execution_totals WHERE id = 1", &[])
        .await
        .db()?
        .get(0);
    let excess = rows - to_i64(max_rows);
    if excess <= 0 {
        return Ok(None);
    }
    let seq = c
        .query_opt(
            "SELECT seq FROM executions ORDER BY seq LIMIT 1 OFFSET $1",
            &[&(excess - 1)],
        )
        .await
        .db()?
        .map(|r| r.get(0));
    Ok(seq)
}

/// The end time before which ended sessions exceed `max_rows` (at most that many ended
/// sessions are kept, the most recently ended), if they do.
async fn session_count_cutoff(c: &Object, rule: &Retention) -> Result<Option<i64>, StoreError> {
    let Some(max_rows) = rule.max_rows else {
        return Ok(None);
    };
    let keep = to_i64(max_rows);
    if rule.batch.is_some() && well_under(c, "sessions", keep).await? {
        return Ok(None);
    }
    // The (keep+1)-th most recently ended: it and everything that ended before it go.
    let nth: Option<i64> = c
        .query_opt(
            &format!(
                "SELECT ended_at FROM sessions WHERE ended_at IS NOT NULL AND status IN {ENDED} \
                 ORDER BY ended_at DESC LIMIT 1 OFFSET $1"
            ),
            &[&keep],
        )
        .await
        .db()?
        .map(|r| r.get(0));
    Ok(nth.map(|t| t.saturating_add(1)))
}

async fn count_executions(
    c: &Object,
    before_ms: Option<i64>,
    threshold: &Option<i64>,
) -> Result<u64, StoreError> {
    let before = before_ms.unwrap_or(i64::MIN);
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM executions WHERE started_at < $1 OR seq <= $2",
            &[&before, &threshold.unwrap_or(i64::MIN)],
        )
        .await
        .db()?
        .get(0);
    Ok(to_u64(n))
}

async fn delete_executions(
    c: &mut Object,
    before_ms: Option<i64>,
    threshold: &Option<i64>,
    batch: usize,
) -> Result<u64, StoreError> {
    if before_ms.is_none() && threshold.is_none() {
        return Ok(0);
    }
    let limit = to_i64(batch);
    let tx = c.transaction().await.db()?;
    let mut removed = 0;
    if let Some(before) = before_ms {
        removed += tx
            .execute(
                "DELETE FROM executions WHERE id IN \
                 (SELECT id FROM executions WHERE started_at < $1 ORDER BY started_at LIMIT $2)",
                &[&before, &limit],
            )
            .await
            .db()?;
    }
    let left = limit - to_i64(removed);
    if let Some(seq) = threshold
        && left > 0
    {
        removed += tx
            .execute(
                "DELETE FROM executions WHERE id IN \
                 (SELECT id FROM executions WHERE seq <= $1 ORDER BY seq LIMIT $2)",
                &[seq, &left],
            )
            .await
            .db()?;
    }
    tx.commit().await.db()?;
    Ok(removed)
}

/// The condition on `sessions` rows that may go, given the placeholders of the cutoff and of
/// now.
fn due_sessions(cutoff: &str, now: &str) -> String {
    format!(
        "ended_at IS NOT NULL AND ended_at < {cutoff} AND status IN {ENDED} \
         AND (lease_expires_at IS NULL OR lease_expires_at < {now})"
    )
}

async fn count_sessions(
    c: &Object,
    before_ms: Option<i64>,
    now: i64,
) -> Result<(u64, u64), StoreError> {
    let Some(before) = before_ms else {
        return Ok((0, 0));
    };
    let row = c
        .query_one(
            &format!(
                "SELECT count(*), coalesce(sum((SELECT count(*) FROM session_turns t \
                 WHERE t.session_id = s.id)), 0)::bigint FROM sessions s WHERE {}",
                due_sessions("$1", "$2")
            ),
            &[&before, &now],
        )
        .await
        .db()?;
    Ok((to_u64(row.get(0)), to_u64(row.get(1))))
}

async fn delete_sessions(
    c: &mut Object,
    before_ms: Option<i64>,
    now: i64,
    batch: usize,
) -> Result<(u64, u64), StoreError> {
    let Some(before) = before_ms else {
        return Ok((0, 0));
    };
    let limit = to_i64(batch);
    let tx = c.transaction().await.db()?;
    // Chosen and locked in the transaction that deletes them: a session another replica is
    // leasing or reviving (its row locked) is skipped, and one changed since is checked again
    // by the lock, so none can come back to life between the choice and the delete.
    let ids: Vec<String> = tx
        .query(
            &format!(
                "SELECT id FROM sessions WHERE {} ORDER BY ended_at LIMIT $3 \
                 FOR UPDATE SKIP LOCKED",
                due_sessions("$1", "$2")
            ),
            &[&before, &now, &limit],
        )
        .await
        .db()?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if ids.is_empty() {
        tx.commit().await.db()?;
        return Ok((0, 0));
    }
    let turns = tx
        .execute(
            "DELETE FROM session_turns WHERE session_id = ANY($1)",
            &[&ids],
        )
        .await
        .db()?;
    let sessions = tx
        .execute("DELETE FROM sessions WHERE id = ANY($1)", &[&ids])
        .await
        .db()?;
    tx.commit().await.db()?;
    Ok((sessions, turns))
}

/// Removes (or counts) state documents whose time to live ran out.
async fn expire_states(c: &Object, now: i64, dry_run: bool) -> Result<u64, StoreError> {
    const DUE: &str = "expires_at IS NOT NULL AND expires_at <= $1";
    if dry_run {
        let n: i64 = c
            .query_one(
                &format!("SELECT count(*) FROM skill_state WHERE {DUE}"),
                &[&now],
            )
            .await
            .db()?
            .get(0);
        return Ok(to_u64(n));
    }
    c.execute(&format!("DELETE FROM skill_state WHERE {DUE}"), &[&now])
        .await
        .db()
}

/// Removes (or counts) jobs that ended before `before_ms`; queued and running ones stay.
async fn prune_jobs(c: &Object, before_ms: Option<i64>, dry_run: bool) -> Result<u64, StoreError> {
    let Some(before) = before_ms else {
        return Ok(0);
    };
    let filter = crate::jobs::PRUNABLE;
    if dry_run {
        let n: i64 = c
            .query_one(
                &format!("SELECT count(*) FROM jobs WHERE {filter}"),
                &[&before],
            )
            .await
            .db()?
            .get(0);
        return Ok(to_u64(n));
    }
    c.execute(&format!("DELETE FROM jobs WHERE {filter}"), &[&before])
        .await
        .db()
}

/// The tables pruned by their `at` column alone.
#[derive(Clone, Copy)]
enum Older {
    Authoring,
    Logs,
}

/// Counts (`dry_run`) or deletes, oldest first, up to `limit` rows from before `before_ms`.
async fn prune_older(
    c: &mut Object,
    which: Older,
    before_ms: Option<i64>,
    limit: Option<usize>,
    dry_run: bool,
) -> Result<u64, StoreError> {
    let Some(before) = before_ms else {
        return Ok(0);
    };
    // `authoring_events` has no key of its own: its rows are named by their place (`ctid`)
    // within the one statement.
    let (table, key) = match which {
        Older::Authoring => ("authoring_events", "ctid"),
        Older::Logs => ("log_lines", "id"),
    };
    if dry_run {
        let n: i64 = c
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE at < $1"),
                &[&before],
            )
            .await
            .db()?
            .get(0);
        return Ok(to_u64(n));
    }
    // NULL is no limit.
    let limit = limit.map(to_i64);
    let tx = c.transaction().await.db()?;
    if matches!(which, Older::Logs) {
        // The byte total's row first, as an append takes it (by its insert) before it drops
        // old lines: a prune and an append never wait on each other the other way round.
        tx.execute("SELECT 1 FROM log_totals WHERE id = 1 FOR UPDATE", &[])
            .await
            .db()?;
    }
    let removed = tx
        .execute(
            &format!(
                "DELETE FROM {table} WHERE {key} IN \
                 (SELECT {key} FROM {table} WHERE at < $1 ORDER BY at, {key} LIMIT $2)"
            ),
            &[&before, &limit],
        )
        .await
        .db()?;
    tx.commit().await.db()?;
    Ok(removed)
}

mod channels;
use channels::prune_channels;

/// Channel messages cannot be sent in the past through the store, so their pruning is checked
/// here, on rows written directly.
#[cfg(test)]
mod tests;
