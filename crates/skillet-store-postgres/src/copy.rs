//! `skillet store copy`: one user's SQLite history and state, moved into a team's store.
//!
//! What is copied is what belongs to the user and means the same on any machine: executions,
//! sessions that no process holds (with their transcripts), and skill state. What is not:
//! circuit breakers (a verdict about one machine's recent calls), the result cache (cheap to
//! rebuild, and keyed by this machine's files), background jobs (this machine's queue), and the
//! output tails of `skillet logs`. A copy can be run again: what the target already holds (the
//! same execution or session id, a state document already there) is left as it is and counted.

use serde::Serialize;
use skillet_store::{
    ExecutionQuery, SessionQuery, SessionStatus, SqliteStore, StateCommit, StateStore, StateWrite,
    Store, StoreError, now_ms,
};

use crate::PostgresStore;

/// Executions are read and written this many at a time: memory stays flat, and each batch is
/// one transaction on the target.
const BATCH: usize = 2_000;

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    /// Executions added to the target.
    pub executions: u64,
    /// Executions the target already had (same id), left as they were.
    pub executions_present: u64,
    /// Sessions added, with their transcripts.
    pub sessions: u64,
    /// Transcript turns added.
    pub turns: u64,
    /// Sessions the target already had, or that a process on this machine still holds
    /// (`live`): not copied.
    pub sessions_skipped: u64,
    /// Skill state documents added.
    pub states: u64,
    /// Documents the target already had a version of: left as they were (copy them by hand
    /// with `skillet state` if this one should win).
    pub states_present: u64,
}

/// Where a copy is, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyProgress {
    /// Executions copied so far (added or present).
    Executions(u64),
    /// Sessions done so far.
    Sessions(u64),
    /// State documents done so far.
    States(u64),
}

/// Copies `from` into `to`; `progress` hears how far it got after each batch.
pub fn copy_from_sqlite(
    from: &SqliteStore,
    to: &PostgresStore,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<CopyReport, StoreError> {
    let mut report = CopyReport::default();
    copy_executions(from, to, &mut report, progress)?;
    copy_sessions(from, to, &mut report, progress)?;
    copy_states(from, to, &mut report, progress)?;
    Ok(report)
}

fn copy_executions(
    from: &SqliteStore,
    to: &PostgresStore,
    report: &mut CopyReport,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<(), StoreError> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut failed = None;
    let mut flush = |batch: &mut Vec<_>, report: &mut CopyReport| -> Result<(), StoreError> {
        let offered = batch.len() as u64;
        let added = to.import(&mut batch.drain(..))?;
        report.executions += added;
        report.executions_present += offered - added;
        progress(CopyProgress::Executions(
            report.executions + report.executions_present,
        ));
        Ok(())
    };
    from.scan(&ExecutionQuery::default(), &mut |record| {
        batch.push(record);
        if batch.len() < BATCH {
            return true;
        }
        match flush(&mut batch, report) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    flush(&mut batch, report)
}

fn copy_sessions(
    from: &SqliteStore,
    to: &PostgresStore,
    report: &mut CopyReport,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<(), StoreError> {
    let sessions = from.sessions(&SessionQuery::default())?;
    for (done, session) in sessions.iter().enumerate() {
        let held_here = matches!(
            session.status,
            SessionStatus::Live | SessionStatus::Restoring
        );
        if held_here || to.session(&session.id)?.is_some_and(|s| s.id == session.id) {
            report.sessions_skipped += 1;
        } else {
            let turns = from.turns(&session.id)?;
            // Turns first: a session row that appears only once its transcript is there is
            // never seen half copied.
            for turn in &turns {
                to.add_turn(turn)?;
            }
            to.save_session(session)?;
            report.sessions += 1;
            report.turns += turns.len() as u64;
        }
        progress(CopyProgress::Sessions(done as u64 + 1));
    }
    Ok(())
}

fn copy_states(
    from: &SqliteStore,
    to: &PostgresStore,
    report: &mut CopyReport,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<(), StoreError> {
    let now = now_ms();
    for (done, state) in from.export_states()?.iter().enumerate() {
        let write = StateWrite {
            doc: state.doc.as_deref(),
            schema_version: state.schema_version,
            writer: &state.writer,
            ttl_ms: state.expires_at_ms.map(|at| at.saturating_sub(now).max(1)),
        };
        match to.commit_state(&state.key, 0, &write)? {
            StateCommit::Committed(_) => report.states += 1,
            StateCommit::Conflict(_) => report.states_present += 1,
        }
        progress(CopyProgress::States(done as u64 + 1));
    }
    Ok(())
}
