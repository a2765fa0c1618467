//! What the last selection of a skill's context files saw, so the next one can tell which files
//! changed without reading the ones that did not.

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::StoreError;

/// One file of a skill's last context selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexedFile {
    /// Relative to the workspace root.
    pub path: String,
    /// Size in bytes when it was seen.
    pub size: i64,
    /// Modification time when it was seen, in milliseconds since the Unix epoch.
    pub modified_ms: i64,
    /// `sha256:` of its bytes.
    pub digest: String,
}

pub(crate) fn load(conn: &Connection, skill: &str) -> Result<Vec<IndexedFile>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, size, modified_ms, digest FROM context_index WHERE skill = ?1 ORDER BY path",
    )?;
    let rows = stmt.query_map([skill], |r| {
        Ok(IndexedFile {
            path: r.get(0)?,
            size: r.get(1)?,
            modified_ms: r.get(2)?,
            digest: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn replace(
    conn: &mut Connection,
    skill: &str,
    files: &[IndexedFile],
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute("DELETE FROM context_index WHERE skill = ?1", [skill])?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO context_index (skill, path, size, modified_ms, digest) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for f in files {
            insert.execute(params![skill, f.path, f.size, f.modified_ms, f.digest])?;
        }
    }
    tx.commit()?;
    Ok(())
}
