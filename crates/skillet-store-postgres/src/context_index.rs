//! What each skill's last context selection saw.

use skillet_store::{IndexedFile, StoreError};

use crate::PostgresStore;
use crate::error::OrStoreError;

/// The first key of the advisory lock a replacement holds (the second is the skill's hash).
const CONTEXT_INDEX_LOCK: i32 = 0x6374_7869; // "ctxi"

/// The files of `skill`'s last selection, by path (in code point order, as on SQLite).
pub(crate) fn get(s: &PostgresStore, skill: &str) -> Result<Vec<IndexedFile>, StoreError> {
    s.connections().call(async |c| {
        let stmt = c
            .prepare_cached(
                "SELECT path, size, modified_ms, digest FROM context_index WHERE skill = $1 \
                 ORDER BY path COLLATE \"C\"",
            )
            .await
            .db()?;
        let rows = c.query(&stmt, &[&skill]).await.db()?;
        rows.iter()
            .map(|r| {
                Ok(IndexedFile {
                    path: r.try_get(0).db()?,
                    size: r.try_get(1).db()?,
                    modified_ms: r.try_get(2).db()?,
                    digest: r.try_get(3).db()?,
                })
            })
            .collect()
    })
}

/// Replaces `skill`'s files with `files`, in one transaction: another replica reads the old
/// set or the new one, never a mix.
pub(crate) fn replace(
    s: &PostgresStore,
    skill: &str,
    files: &[IndexedFile],
) -> Result<(), StoreError> {
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let sizes: Vec<i64> = files.iter().map(|f| f.size).collect();
    let modified: Vec<i64> = files.iter().map(|f| f.modified_ms).collect();
    let digests: Vec<&str> = files.iter().map(|f| f.digest.as_str()).collect();
    s.connections().call(async |c| {
        let tx = c.transaction().await.db()?;
        // Replicas replacing the same skill's set take turns: otherwise the second's delete
        // would miss the rows the first inserted, and its insert would collide with them.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&CONTEXT_INDEX_LOCK, &skill],
        )
        .await
        .db()?;
        tx.execute("DELETE FROM context_index WHERE skill = $1", &[&skill])
            .await
            .db()?;
        tx.execute(
            "INSERT INTO context_index (skill, path, size, modified_ms, digest)
             SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::bigint[], $5::text[])",
            &[&skill, &paths, &sizes, &modified, &digests],
        )
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(())
    })
}
