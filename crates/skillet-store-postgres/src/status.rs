//! `skillet store status`: the schema version and how many rows each table holds.

use serde_json::json;
use skillet_store::StoreError;

use crate::PostgresStore;
use crate::error::OrStoreError;

/// The tables `status` counts, in the order it shows them.
const TABLES: &[&str] = &[
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    /// The table.
    pub table: &'static str,
    /// Its rows.
    pub rows: i64,
}

/// What `skillet store status` shows of a PostgreSQL store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStatus {
    /// The schema version the database is at (0: skillet never wrote it).
    pub schema_version: i64,
    /// The version this build writes.
    pub supported_version: i64,
    /// The server's version string.
    pub server_version: String,
    /// Rows per table (empty while the schema is not there).
    pub tables: Vec<TableCount>,
}

impl StoreStatus {
    /// As `--json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "schema_version": self.schema_version,
            "supported_version": self.supported_version,
            "server_version": self.server_version,
            "rows": self.tables.iter().map(|t| (t.table.to_owned(), json!(t.rows))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

pub(crate) fn read(store: &PostgresStore) -> Result<StoreStatus, StoreError> {
    store.connections().call(async |c| {
        let schema_version = crate::schema::version(c).await?;
        let server_version: String = c.query_one("SHOW server_version", &[]).await.db()?.get(0);
        let mut tables = Vec::new();
        if schema_version > 0 {
            for table in TABLES {
                // Table names come from the list above, never from input.
                let rows: i64 = c
                    .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                    .await
                    .db()?
                    .get(0);
                tables.push(TableCount { table, rows });
            }
        }
        Ok(StoreStatus {
            schema_version,
            supported_version: crate::SCHEMA_VERSION,
            server_version,
            tables,
        })
    })
}
