//! The PostgreSQL schema, one migration step per version, and how a store brings a database up
//! to date: in one transaction under an advisory lock, so that several replicas starting at once
//! migrate it once.
//!
//! The tables and columns are the SQLite store's, by the same names, so a row reads the same in
//! both; integers are `BIGINT` (flags 0 or 1, as in SQLite), times are ms since the epoch. Two
//! additions stand in for what SQLite gives for free: `executions.seq`, the order rows were
//! recorded in (SQLite's rowid), and `execution_totals`, their count kept by triggers, so that
//! the history's count rule costs two index lookups instead of a walk over the rows kept.

use skillet_store::StoreError;
use tokio_postgres::Client;

use crate::error::OrStoreError;

/// The schema, one step per version. A step runs once, in the transaction that records it.
pub(crate) const STEPS: &[&str] = &[
    // 1: everything the SQLite store had at its version 19.
    "CREATE TABLE executions (
        id                TEXT PRIMARY KEY,
        skill             TEXT NOT NULL,
        version           TEXT,
        scope             TEXT,
        params_hash       TEXT,
        params            TEXT,
        status            TEXT NOT NULL,
        exit_code         BIGINT,
        attempt           BIGINT NOT NULL DEFAULT 1,
        correlation_id    TEXT NOT NULL,
        parent_id         TEXT,
        started_at        BIGINT NOT NULL,
        finished_at       BIGINT NOT NULL,
        duration_ms       BIGINT NOT NULL,
        peak_memory_kb    BIGINT,
        cpu_time_ms       BIGINT,
        truncated         BIGINT NOT NULL DEFAULT 0,
        limit_hit         TEXT,
        error             TEXT,
        origin            TEXT,
        request_id        TEXT,
        cached            BIGINT NOT NULL DEFAULT 0,
        queue_wait_ms     BIGINT,
        spans             TEXT,
        peak_processes    BIGINT,
        bytes_written     BIGINT,
        llm_input_tokens  BIGINT,
        llm_output_tokens BIGINT,
        llm_ms            BIGINT,
        seq               BIGINT GENERATED ALWAYS AS IDENTITY
    );
    CREATE UNIQUE INDEX executions_by_seq ON executions(seq);
    CREATE INDEX executions_by_time ON executions(started_at, id);
    CREATE INDEX executions_by_skill_time ON executions(skill, started_at, id);
    CREATE INDEX executions_by_status_time ON executions(status, started_at, id);
    CREATE INDEX executions_by_correlation ON executions(correlation_id);
    CREATE INDEX executions_by_id_bytes ON executions(id COLLATE \"C\");
    CREATE TABLE breakers (
        skill                TEXT PRIMARY KEY,
        state                TEXT NOT NULL,
        consecutive_failures BIGINT NOT NULL DEFAULT 0,
        opened_at            BIGINT,
        updated_at           BIGINT NOT NULL,
        trial_started        BIGINT,
        recent               TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE sessions (
        id               TEXT PRIMARY KEY,
        skill            TEXT NOT NULL,
        label            TEXT,
        status           TEXT NOT NULL,
        start            TEXT NOT NULL,
        replay           BIGINT NOT NULL DEFAULT 0,
        pid              BIGINT,
        created_at       BIGINT NOT NULL,
        last_used_at     BIGINT NOT NULL,
        ended_at         BIGINT,
        exit_code        BIGINT,
        reason           TEXT,
        lease_owner      TEXT,
        lease_pid        BIGINT,
        lease_host       TEXT,
        lease_holder     TEXT,
        lease_expires_at BIGINT
    );
    CREATE INDEX sessions_by_start ON sessions(created_at);
    CREATE INDEX sessions_by_end ON sessions(ended_at);
    CREATE INDEX sessions_by_id_bytes ON sessions(id COLLATE \"C\");
    CREATE TABLE session_turns (
        session_id  TEXT NOT NULL,
        seq         BIGINT NOT NULL,
        source      TEXT NOT NULL,
        input       TEXT NOT NULL,
        stdout      TEXT NOT NULL,
        stderr      TEXT NOT NULL,
        exit_status BIGINT,
        outcome     TEXT NOT NULL,
        started_at  BIGINT NOT NULL,
        duration_ms BIGINT NOT NULL,
        truncated   BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (session_id, seq)
    );
    CREATE TABLE context_index (
        skill       TEXT NOT NULL,
        path        TEXT NOT NULL,
        size        BIGINT NOT NULL,
        modified_ms BIGINT NOT NULL,
        digest      TEXT NOT NULL,
        PRIMARY KEY (skill, path)
    );
    CREATE TABLE skill_state (
        owner          TEXT NOT NULL,
        workspace      TEXT NOT NULL,
        doc            TEXT,
        rev            BIGINT NOT NULL,
        schema_version BIGINT NOT NULL,
        updated_at     BIGINT NOT NULL,
        writer         TEXT NOT NULL,
        expires_at     BIGINT,
        PRIMARY KEY (owner, workspace)
    );
    CREATE INDEX skill_state_by_expiry ON skill_state(expires_at);
    CREATE TABLE cache_entries (
        key          TEXT PRIMARY KEY,
        skill        TEXT NOT NULL,
        exit_code    BIGINT,
        stdout       TEXT NOT NULL,
        stderr       TEXT NOT NULL,
        truncated    BIGINT NOT NULL DEFAULT 0,
        size         BIGINT NOT NULL,
        execution_id TEXT,
        created_at   BIGINT NOT NULL,
        expires_at   BIGINT NOT NULL,
        last_used_at BIGINT NOT NULL,
        hits         BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX cache_entries_by_use ON cache_entries(last_used_at);
    CREATE INDEX cache_entries_by_skill ON cache_entries(skill);
    CREATE TABLE cache_counts (
        skill  TEXT PRIMARY KEY,
        hits   BIGINT NOT NULL DEFAULT 0,
        misses BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE file_digests (
        path     TEXT PRIMARY KEY,
        device   BIGINT NOT NULL,
        inode    BIGINT NOT NULL,
        size     BIGINT NOT NULL,
        mtime_ns BIGINT NOT NULL,
        ctime_ns BIGINT NOT NULL,
        digest   TEXT NOT NULL
    );
    CREATE TABLE jobs (
        id            TEXT PRIMARY KEY,
        skill         TEXT NOT NULL,
        status        TEXT NOT NULL,
        priority      TEXT NOT NULL,
        params        TEXT NOT NULL,
        caller_dir    TEXT NOT NULL,
        workspace     TEXT,
        submitted_at  BIGINT NOT NULL,
        started_at    BIGINT,
        finished_at   BIGINT,
        queue_wait_ms BIGINT,
        execution_id  TEXT,
        outcome       TEXT,
        exit_code     BIGINT,
        stdout        TEXT NOT NULL,
        stderr        TEXT NOT NULL,
        truncated     BIGINT NOT NULL DEFAULT 0,
        error         TEXT,
        holder        TEXT NOT NULL,
        holder_pid    BIGINT NOT NULL,
        stdin         TEXT,
        shareable     BIGINT NOT NULL DEFAULT 0,
        lease_expires_at BIGINT,
        cancel_requested BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX jobs_by_status ON jobs(status, submitted_at);
    CREATE INDEX jobs_by_submit ON jobs(submitted_at, id);
    CREATE INDEX jobs_by_end ON jobs(finished_at);
    CREATE INDEX jobs_by_id_bytes ON jobs(id COLLATE \"C\");
    CREATE TABLE authoring_events (
        workspace   TEXT NOT NULL,
        skill       TEXT NOT NULL,
        kind        TEXT NOT NULL,
        at          BIGINT NOT NULL,
        passed      BIGINT,
        failed      BIGINT,
        skipped     BIGINT,
        duration_ms BIGINT,
        outcome     TEXT
    );
    CREATE INDEX authoring_by_skill ON authoring_events(workspace, skill, at);
    CREATE INDEX authoring_by_time ON authoring_events(at);
    CREATE TABLE channels (
        workspace    TEXT NOT NULL,
        owner        TEXT NOT NULL,
        name         TEXT NOT NULL,
        last_seq     BIGINT NOT NULL,
        last_sent_at BIGINT,
        PRIMARY KEY (workspace, owner, name)
    );
    CREATE TABLE channel_messages (
        workspace TEXT NOT NULL,
        owner     TEXT NOT NULL,
        name      TEXT NOT NULL,
        seq       BIGINT NOT NULL,
        sender    TEXT NOT NULL,
        sent_at   BIGINT NOT NULL,
        body      TEXT NOT NULL,
        PRIMARY KEY (workspace, owner, name, seq)
    );
    CREATE TABLE alert_events (
        id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        name      TEXT NOT NULL,
        skill     TEXT NOT NULL,
        state     TEXT NOT NULL,
        value     DOUBLE PRECISION,
        condition TEXT NOT NULL,
        at        BIGINT NOT NULL,
        notified  TEXT NOT NULL
    );
    CREATE TABLE log_lines (
        id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at           BIGINT NOT NULL,
        level        TEXT NOT NULL,
        source       TEXT NOT NULL,
        target       TEXT,
        skill        TEXT,
        execution_id TEXT,
        message      TEXT NOT NULL
    );
    CREATE INDEX log_lines_by_time ON log_lines(at);
    CREATE INDEX log_lines_by_execution ON log_lines((execution_id COLLATE \"C\"));
    CREATE INDEX log_lines_by_skill ON log_lines(skill, id);
    CREATE TABLE log_totals (
        id    BIGINT PRIMARY KEY CHECK (id = 1),
        bytes BIGINT NOT NULL
    );
    INSERT INTO log_totals (id, bytes) VALUES (1, 0);
    CREATE FUNCTION log_lines_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE log_totals SET bytes = bytes +
            (SELECT coalesce(sum(octet_length(message)), 0) FROM added) WHERE id = 1;
        RETURN NULL;
    END $$;
    CREATE TRIGGER log_lines_added AFTER INSERT ON log_lines
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION log_lines_added();
    CREATE FUNCTION log_lines_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE log_totals SET bytes = bytes -
            (SELECT coalesce(sum(octet_length(message)), 0) FROM removed) WHERE id = 1;
        RETURN NULL;
    END $$;
    CREATE TRIGGER log_lines_removed AFTER DELETE ON log_lines
        REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION log_lines_removed();
    CREATE TABLE execution_totals (
        id   BIGINT PRIMARY KEY CHECK (id = 1),
        rows BIGINT NOT NULL
    );
    INSERT INTO execution_totals (id, rows) VALUES (1, 0);
    CREATE FUNCTION executions_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE execution_totals SET rows = rows + (SELECT count(*) FROM added) WHERE id = 1;
        RETURN NULL;
    END $$;
    CREATE TRIGGER executions_added AFTER INSERT ON executions
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION executions_added();
    CREATE FUNCTION executions_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE execution_totals SET rows = rows - (SELECT count(*) FROM removed) WHERE id = 1;
        RETURN NULL;
    END $$;
    CREATE TRIGGER executions_removed AFTER DELETE ON executions
        REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION executions_removed();",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = STEPS.len() as i64;

/// The key of the advisory lock migrations hold ("skillet" in ASCII), so that replicas starting
/// together take turns and the second finds the work done.
const MIGRATION_LOCK: i64 = 0x0073_6b69_6c6c_6574;

/// The schema version of the database `client` is connected to; 0 for one skillet never wrote.
pub(crate) async fn version(client: &Client) -> Result<i64, StoreError> {
    let exists = client
        .query_opt("SELECT 1 FROM pg_tables WHERE tablename = 'skillet_schema' AND schemaname = current_schema()", &[])
        .await
        .db()?
        .is_some();
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one("SELECT version FROM skillet_schema", &[])
        .await
        .db()?;
    Ok(row.get(0))
}

/// The schema version in one round trip (every process that opens the store asks): 0 when
/// skillet never wrote this database.
pub(crate) async fn quick_version(client: &Client) -> Result<i64, StoreError> {
    match client
        .simple_query("SELECT version FROM skillet_schema")
        .await
    {
        Ok(messages) => Ok(messages
            .iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0)?.parse().ok(),
                _ => None,
            })
            .unwrap_or(0)),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => Ok(0),
        Err(e) => Err(crate::error::db(e)),
    }
}

/// Brings the database up to [`SCHEMA_VERSION`]; returns the version it was at. Refuses a
/// database a newer skillet wrote.
pub(crate) async fn migrate(client: &mut Client, shown: &str) -> Result<i64, StoreError> {
    let tx = client.transaction().await.db()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .db()?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS skillet_schema (
            id      BIGINT PRIMARY KEY CHECK (id = 1),
            version BIGINT NOT NULL
        );
        INSERT INTO skillet_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;",
    )
    .await
    .db()?;
    let found: i64 = tx
        .query_one("SELECT version FROM skillet_schema", &[])
        .await
        .db()?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: shown.into(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (done, step) in STEPS.iter().enumerate().skip(found.max(0) as usize) {
        tx.batch_execute(step).await.db()?;
        let version = done as i64 + 1;
        tx.execute("UPDATE skillet_schema SET version = $1", &[&version])
            .await
            .db()?;
    }
    tx.commit().await.db()?;
    Ok(found)
}
