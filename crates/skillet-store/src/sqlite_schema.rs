//! The SQLite schema, one migration step per version; `sqlite_open.rs` applies them.

/// The schema, one step per version. Steps are idempotent (`IF NOT EXISTS`): two processes that
/// open a new database at the same moment may both run the first one.
pub(crate) const STEPS: &[&str] = &[
    // 1: executions, and the breaker table the recovery layer fills.
    "CREATE TABLE IF NOT EXISTS executions (
        id             TEXT PRIMARY KEY,
        skill          TEXT NOT NULL,
        version        TEXT,
        scope          TEXT,
        params_hash    TEXT,
        params         TEXT,
        status         TEXT NOT NULL,
        exit_code      INTEGER,
        attempt        INTEGER NOT NULL DEFAULT 1,
        correlation_id TEXT NOT NULL,
        parent_id      TEXT,
        started_at     INTEGER NOT NULL,
        finished_at    INTEGER NOT NULL,
        duration_ms    INTEGER NOT NULL,
        peak_memory_kb INTEGER,
        cpu_time_ms    INTEGER,
        truncated      INTEGER NOT NULL DEFAULT 0,
        limit_hit      TEXT,
        error          TEXT
    );
    CREATE INDEX IF NOT EXISTS executions_by_start ON executions(started_at);
    CREATE INDEX IF NOT EXISTS executions_by_skill ON executions(skill, started_at);
    CREATE INDEX IF NOT EXISTS executions_by_correlation ON executions(correlation_id);
    CREATE TABLE IF NOT EXISTS breakers (
        skill                TEXT PRIMARY KEY,
        state                TEXT NOT NULL,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        opened_at            INTEGER,
        updated_at           INTEGER NOT NULL
    );",
    // 2: a half-open breaker lets one trial call through; remember when it started.
    "ALTER TABLE breakers ADD COLUMN trial_started INTEGER;",
    // 3: the outcomes of the last calls, for failure-rate breakers.
    "ALTER TABLE breakers ADD COLUMN recent TEXT NOT NULL DEFAULT '';",
    // 4: sessions and their transcripts.
    "CREATE TABLE IF NOT EXISTS sessions (
        id           TEXT PRIMARY KEY,
        skill        TEXT NOT NULL,
        label        TEXT,
        status       TEXT NOT NULL,
        start        TEXT NOT NULL,
        replay       INTEGER NOT NULL DEFAULT 0,
        pid          INTEGER,
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        ended_at     INTEGER,
        exit_code    INTEGER,
        reason       TEXT
    );
    CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions(created_at);
    CREATE TABLE IF NOT EXISTS session_turns (
        session_id  TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        source      TEXT NOT NULL,
        input       TEXT NOT NULL,
        stdout      TEXT NOT NULL,
        stderr      TEXT NOT NULL,
        exit_status INTEGER,
        outcome     TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        truncated   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (session_id, seq)
    );",
    // 5: who asked for an execution (`cli`, `mcp`) and the request id it answered.
    "ALTER TABLE executions ADD COLUMN origin TEXT;
    ALTER TABLE executions ADD COLUMN request_id TEXT;",
    // 6: the files each skill's last context selection saw.
    "CREATE TABLE IF NOT EXISTS context_index (
        skill       TEXT NOT NULL,
        path        TEXT NOT NULL,
        size        INTEGER NOT NULL,
        modified_ms INTEGER NOT NULL,
        digest      TEXT NOT NULL,
        PRIMARY KEY (skill, path)
    );",
    // 7: one process at a time owns a live session (a lease it renews), so two daemons on one
    // store never both drive it.
    "ALTER TABLE sessions ADD COLUMN lease_owner TEXT;
    ALTER TABLE sessions ADD COLUMN lease_pid INTEGER;
    ALTER TABLE sessions ADD COLUMN lease_host TEXT;
    ALTER TABLE sessions ADD COLUMN lease_holder TEXT;
    ALTER TABLE sessions ADD COLUMN lease_expires_at INTEGER;",
    // 8: every `history` filter and retention check is an index range. The order the listing
    // wants (newest first, ties by id) is the index's own, so rows stream without a sort; the
    // old one-column indexes are covered by these.
    "DROP INDEX IF EXISTS executions_by_start;
    DROP INDEX IF EXISTS executions_by_skill;
    CREATE INDEX IF NOT EXISTS executions_by_time ON executions(started_at, id);
    CREATE INDEX IF NOT EXISTS executions_by_skill_time ON executions(skill, started_at, id);
    CREATE INDEX IF NOT EXISTS executions_by_status_time ON executions(status, started_at, id);
    CREATE INDEX IF NOT EXISTS sessions_by_end ON sessions(ended_at);",
    // 9: skill state: one JSON document per skill identity and workspace ('' for global
    // state). `rev` only grows (a cleared document keeps its row with `doc` NULL), so a
    // compare-and-swap on it never mistakes a new document for the one a run read.
    "CREATE TABLE IF NOT EXISTS skill_state (
        owner          TEXT NOT NULL,
        workspace      TEXT NOT NULL,
        doc            TEXT,
        rev            INTEGER NOT NULL,
        schema_version INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        writer         TEXT NOT NULL,
        expires_at     INTEGER,
        PRIMARY KEY (owner, workspace)
    );
    CREATE INDEX IF NOT EXISTS skill_state_by_expiry ON skill_state(expires_at);",
    // 10: the result cache: stored results by key (LRU by `last_used_at`, bounded in bytes),
    // hit and miss counts per skill, the content digests of keyed files (re-read only when their
    // size, times or inode change), and which executions were answered from the cache.
    "CREATE TABLE IF NOT EXISTS cache_entries (
        key          TEXT PRIMARY KEY,
        skill        TEXT NOT NULL,
        exit_code    INTEGER,
        stdout       TEXT NOT NULL,
        stderr       TEXT NOT NULL,
        truncated    INTEGER NOT NULL DEFAULT 0,
        size         INTEGER NOT NULL,
        execution_id TEXT,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        hits         INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS cache_entries_by_use ON cache_entries(last_used_at);
    CREATE INDEX IF NOT EXISTS cache_entries_by_skill ON cache_entries(skill);
    CREATE TABLE IF NOT EXISTS cache_counts (
        skill  TEXT PRIMARY KEY,
        hits   INTEGER NOT NULL DEFAULT 0,
        misses INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS file_digests (
        path     TEXT PRIMARY KEY,
        device   INTEGER NOT NULL,
        inode    INTEGER NOT NULL,
        size     INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL,
        digest   TEXT NOT NULL
    );
    ALTER TABLE executions ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;",
    // 11: background jobs the daemon queues and runs (`skillet run --detach`), with their
    // output, so it can be read after the submitting command and the daemon are gone.
    "CREATE TABLE IF NOT EXISTS jobs (
        id            TEXT PRIMARY KEY,
        skill         TEXT NOT NULL,
        status        TEXT NOT NULL,
        priority      TEXT NOT NULL,
        params        TEXT NOT NULL,
        caller_dir    TEXT NOT NULL,
        workspace     TEXT,
        submitted_at  INTEGER NOT NULL,
        started_at    INTEGER,
        finished_at   INTEGER,
        queue_wait_ms INTEGER,
        execution_id  TEXT,
        outcome       TEXT,
        exit_code     INTEGER,
        stdout        TEXT NOT NULL,
        stderr        TEXT NOT NULL,
        truncated     INTEGER NOT NULL DEFAULT 0,
        error         TEXT,
        holder        TEXT NOT NULL,
        holder_pid    INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS jobs_by_submit ON jobs(submitted_at, id);
    CREATE INDEX IF NOT EXISTS jobs_by_end ON jobs(finished_at);",
    // 12: authoring events (`skillet create`, each `skillet test` run, each `skillet dev`
    // reload) per workspace and skill, for `skillet stats --authoring`; pruned by time like
    // executions.
    "CREATE TABLE IF NOT EXISTS authoring_events (
        workspace   TEXT NOT NULL,
        skill       TEXT NOT NULL,
        kind        TEXT NOT NULL,
        at          INTEGER NOT NULL,
        passed      INTEGER,
        failed      INTEGER,
        skipped     INTEGER,
        duration_ms INTEGER,
        outcome     TEXT
    );
    CREATE INDEX IF NOT EXISTS authoring_by_skill ON authoring_events(workspace, skill, at);
    CREATE INDEX IF NOT EXISTS authoring_by_time ON authoring_events(at);",
    // 13: named channels (`skillet channel`, `$SKILLET_CHANNEL_FD`): a row per channel holding
    // its last message number (kept through a clear, so numbers are never reused), and the
    // messages, bounded per channel by the sender's transaction.
    "CREATE TABLE IF NOT EXISTS channels (
        workspace    TEXT NOT NULL,
        owner        TEXT NOT NULL,
        name         TEXT NOT NULL,
        last_seq     INTEGER NOT NULL,
        last_sent_at INTEGER,
        PRIMARY KEY (workspace, owner, name)
    );
    CREATE TABLE IF NOT EXISTS channel_messages (
        workspace TEXT NOT NULL,
        owner     TEXT NOT NULL,
        name      TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        sender    TEXT NOT NULL,
        sent_at   INTEGER NOT NULL,
        body      TEXT NOT NULL,
        PRIMARY KEY (workspace, owner, name, seq)
    );",
    // 14: how long a call waited in a queue before it ran (the daemon's job queue, the MCP
    // server's cap on calls at once), per execution; NULL for a run that never queued.
    "ALTER TABLE executions ADD COLUMN queue_wait_ms INTEGER;",
    // 15: alert events (`[[alerts]]`): each rule firing or resolving for a skill.
    "CREATE TABLE IF NOT EXISTS alert_events (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        name      TEXT NOT NULL,
        skill     TEXT NOT NULL,
        state     TEXT NOT NULL,
        value     REAL,
        condition TEXT NOT NULL,
        at        INTEGER NOT NULL,
        notified  TEXT NOT NULL
    );",
    // 16: where each execution's time went, phase by phase (`skillet trace`):
    // `phase start_us duration_us;…`.
    "ALTER TABLE executions ADD COLUMN spans TEXT;",
    // 17: searchable logs (`skillet logs`): skillet's own events and the tails of each
    // execution's output, with a trigram full-text index of the messages and the total size of
    // the messages. The triggers keep the size in step; the index is brought up to date by
    // whoever searches it (`indexed_to`), so that a run, which only adds lines, does not pay
    // for indexing them. A line removed is taken out of the index only if it was in it.
    "CREATE TABLE IF NOT EXISTS log_lines (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        at           INTEGER NOT NULL,
        level        TEXT NOT NULL,
        source       TEXT NOT NULL,
        target       TEXT,
        skill        TEXT,
        execution_id TEXT,
        message      TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS log_lines_by_time ON log_lines(at);
    CREATE INDEX IF NOT EXISTS log_lines_by_execution ON log_lines(execution_id);
    CREATE INDEX IF NOT EXISTS log_lines_by_skill ON log_lines(skill, id);
    CREATE VIRTUAL TABLE IF NOT EXISTS log_text USING fts5(
        message, content = 'log_lines', content_rowid = 'id', tokenize = 'trigram'
    );
    CREATE TABLE IF NOT EXISTS log_totals (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        bytes      INTEGER NOT NULL,
        indexed_to INTEGER NOT NULL
    );
    INSERT OR IGNORE INTO log_totals (id, bytes, indexed_to) VALUES (1, 0, 0);
    CREATE TRIGGER IF NOT EXISTS log_lines_added AFTER INSERT ON log_lines BEGIN
        UPDATE log_totals SET bytes = bytes + length(CAST(new.message AS BLOB)) WHERE id = 1;
    END;
    CREATE TRIGGER IF NOT EXISTS log_lines_removed AFTER DELETE ON log_lines BEGIN
        INSERT INTO log_text (log_text, rowid, message)
            SELECT 'delete', old.id, old.message
            WHERE old.id <= (SELECT indexed_to FROM log_totals WHERE id = 1);
        UPDATE log_totals SET bytes = bytes - length(CAST(old.message AS BLOB)) WHERE id = 1;
    END;",
    // 18: the most processes a run had at once, and the bytes it wrote to storage.
    "ALTER TABLE executions ADD COLUMN peak_processes INTEGER;
    ALTER TABLE executions ADD COLUMN bytes_written INTEGER;",
    // 19: what a conversation asked of its model: tokens in and out, and the time spent
    // waiting on it.
    "ALTER TABLE executions ADD COLUMN llm_input_tokens INTEGER;
    ALTER TABLE executions ADD COLUMN llm_output_tokens INTEGER;
    ALTER TABLE executions ADD COLUMN llm_ms INTEGER;",
    // 20: a job queue several daemons share: a job's standard input (so another daemon can run
    // it), whether any daemon may, the lease its holder renews while it runs, and a request to
    // cancel it from a daemon that does not hold it.
    "ALTER TABLE jobs ADD COLUMN stdin TEXT;
    ALTER TABLE jobs ADD COLUMN shareable INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN lease_expires_at INTEGER;
    ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status, submitted_at);",
    // 21: step 1's indexes by start and by skill and start, which step 6's wider ones (with the
    // id) serve every query of: each cost every recorded run a page written.
    "DROP INDEX IF EXISTS executions_by_start;
    DROP INDEX IF EXISTS executions_by_skill;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = STEPS.len() as i64;
