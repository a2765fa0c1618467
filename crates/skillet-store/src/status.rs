//! `skillet store status`: which backend, the schema version, and how many rows each table
//! holds, the same for every store.

use serde::Serialize;

/// The tables a status counts, in the order it shows them.
pub const COUNTED_TABLES: &[&str] = &[
    "executions",
    "breakers",
    "sessions",
    "session_turns",
    "skill_state",
    "cache_entries",
    "jobs",
    "channel_messages",
    "alert_events",
    "log_lines",
    "authoring_events",
];

/// A table and its row count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCount {
    /// The table.
    pub table: &'static str,
    /// Its rows.
    pub rows: i64,
}

/// What a store is, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreStatus {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The file, or the URL without its password.
    pub location: String,
    /// The schema version the database is at (0: skillet never wrote it).
    pub schema_version: i64,
    /// The version this build writes.
    pub supported_version: i64,
    /// The database server's version (PostgreSQL), or the SQLite library's.
    pub server_version: String,
    /// Rows per table (empty while the schema is not there).
    pub tables: Vec<TableCount>,
}
