//! The result cache and the digests of keyed files.
//!
//! A hit is one `UPDATE … SET hits = hits + 1 … RETURNING`, and the per-skill counts are
//! upserts that add one (`ON CONFLICT DO UPDATE SET hits = hits + 1`), so replicas looking up
//! at once lose no count. Stores and clears take a transaction-scoped advisory lock, so the
//! bound on the cache's bytes holds across replicas (two stores never both decide that there
//! is room) and their multi-row deletes never deadlock each other.

use skillet_store::{CacheEntry, CacheSkillStats, CacheStore, FileDigest, StoreError};
use tokio_postgres::{GenericClient, Row};

use crate::PostgresStore;
use crate::error::{OrStoreError, is_retryable};

const COLUMNS: &str = "key, skill, exit_code, stdout, stderr, truncated, execution_id, \
    created_at, expires_at, last_used_at, hits";

/// The advisory lock stores and clears of the cache hold ("skillet" and `c`).
const CACHE_LOCK: i64 = 0x736b_696c_6c65_7463;

/// How often a transaction that met a deadlock or a serialization failure is tried again.
const ATTEMPTS: usize = 5;

fn from_row(r: &Row) -> CacheEntry {
    CacheEntry {
        key: r.get(0),
        skill: r.get(1),
        exit_code: r.get(2),
        stdout: r.get(3),
        stderr: r.get(4),
        truncated: r.get::<_, i64>(5) != 0,
        execution_id: r.get(6),
        created_at_ms: r.get(7),
        expires_at_ms: r.get(8),
        last_used_at_ms: r.get(9),
        hits: r.get(10),
    }
}

/// Runs `work` again while it fails with a deadlock or a serialization failure (its
/// transaction was rolled back, so nothing of it stayed), up to [`ATTEMPTS`] times.
async fn retrying<T>(
    mut work: impl AsyncFnMut() -> Result<T, tokio_postgres::Error>,
) -> Result<T, StoreError> {
    let mut attempt = 1;
    loop {
        match work().await {
            Err(e) if attempt < ATTEMPTS && is_retryable(&e) => attempt += 1,
            other => return other.db(),
        }
    }
}

async fn count(
    c: &impl GenericClient,
    skill: &str,
    hit: bool,
) -> Result<(), tokio_postgres::Error> {
    let column = if hit { "hits" } else { "misses" };
    c.execute(
        &format!(
            "INSERT INTO cache_counts (skill, {column}) VALUES ($1, 1)
             ON CONFLICT (skill) DO UPDATE SET {column} = cache_counts.{column} + 1"
        ),
        &[&skill],
    )
    .await?;
    Ok(())
}

impl CacheStore for PostgresStore {
    fn cache_lookup(
        &self,
        skill: &str,
        key: &str,
        now_ms: i64,
        count_miss: bool,
    ) -> Result<Option<CacheEntry>, StoreError> {
        self.connections().call(async |c| {
            retrying(async || {
                let tx = c.transaction().await?;
                let hit = tx
                    .query_opt(
                        &format!(
                            "UPDATE cache_entries SET last_used_at = $3, hits = hits + 1
                             WHERE key = $1 AND skill = $2 AND expires_at > $3 RETURNING {COLUMNS}"
                        ),
                        &[&key, &skill, &now_ms],
                    )
                    .await?
                    .map(|r| from_row(&r));
                if hit.is_some() {
                    count(&*tx, skill, true).await?;
                } else {
                    // An expired result is removed.
                    tx.execute(
                        "DELETE FROM cache_entries WHERE key = $1 AND skill = $2 AND expires_at <= $3",
                        &[&key, &skill, &now_ms],
                    )
                    .await?;
                    if count_miss {
                        count(&*tx, skill, false).await?;
                    }
                }
                tx.commit().await?;
                Ok(hit)
            })
            .await
        })
    }

    fn cache_put(&self, entry: &CacheEntry, max_bytes: u64) -> Result<u64, StoreError> {
        let max = i64::try_from(max_bytes).unwrap_or(i64::MAX);
        let size = entry.size();
        // PostgreSQL text holds no NUL: a result with one (in its output, say) is not kept,
        // as one larger than the bound is not (a result must read back exactly as it was).
        let fields = [&entry.key, &entry.skill, &entry.stdout, &entry.stderr];
        if size > max
            || fields.iter().any(|f| f.contains('\0'))
            || entry
                .execution_id
                .as_ref()
                .is_some_and(|e| e.contains('\0'))
        {
            return Ok(0);
        }
        let truncated = i64::from(entry.truncated);
        self.connections().call(async |c| {
            retrying(async || {
                let tx = c.transaction().await?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CACHE_LOCK])
                    .await?;
                tx.execute(
                    &format!(
                        "INSERT INTO cache_entries ({COLUMNS}, size)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                         ON CONFLICT (key) DO UPDATE SET skill = excluded.skill,
                           exit_code = excluded.exit_code, stdout = excluded.stdout,
                           stderr = excluded.stderr, truncated = excluded.truncated,
                           execution_id = excluded.execution_id, created_at = excluded.created_at,
                           expires_at = excluded.expires_at, last_used_at = excluded.last_used_at,
                           hits = excluded.hits, size = excluded.size"
                    ),
                    &[
                        &entry.key,
                        &entry.skill,
                        &entry.exit_code,
                        &entry.stdout,
                        &entry.stderr,
                        &truncated,
                        &entry.execution_id,
                        &entry.created_at_ms,
                        &entry.expires_at_ms,
                        &entry.last_used_at_ms,
                        &entry.hits,
                        &size,
                    ],
                )
                .await?;
                let total: i64 = tx
                    .query_one(
                        "SELECT COALESCE(SUM(size), 0)::BIGINT FROM cache_entries",
                        &[],
                    )
                    .await?
                    .get(0);
                let mut evicted = 0;
                if total > max {
                    // Oldest use first, until the rest fit: an entry goes when what is left
                    // with it still exceeds the bound. The entry just stored is the newest, so
                    // it would go last (and, being no larger than the bound, never has to).
                    evicted = tx
                        .execute(
                            "DELETE FROM cache_entries WHERE key IN (
                                 SELECT key FROM (
                                     SELECT key, size, SUM(size) OVER (
                                         ORDER BY last_used_at, key COLLATE \"C\"
                                         ROWS UNBOUNDED PRECEDING)::BIGINT AS upto
                                     FROM cache_entries WHERE key <> $1) oldest
                                 WHERE $2 - (upto - size) > $3)",
                            &[&entry.key, &total, &max],
                        )
                        .await?;
                }
                tx.commit().await?;
                Ok(evicted)
            })
            .await
        })
    }

    fn cache_stats(&self) -> Result<Vec<CacheSkillStats>, StoreError> {
        self.connections().call(async |c| {
            let rows = c
                .query(
                    "SELECT s.skill,
                            COALESCE(c.hits, 0), COALESCE(c.misses, 0),
                            (SELECT COUNT(*) FROM cache_entries e WHERE e.skill = s.skill),
                            (SELECT COALESCE(SUM(size), 0)::BIGINT FROM cache_entries e
                              WHERE e.skill = s.skill)
                     FROM (SELECT skill FROM cache_counts UNION SELECT skill FROM cache_entries) s
                     LEFT JOIN cache_counts c ON c.skill = s.skill
                     ORDER BY s.skill COLLATE \"C\"",
                    &[],
                )
                .await
                .db()?;
            Ok(rows
                .iter()
                .map(|r| CacheSkillStats {
                    skill: r.get(0),
                    hits: r.get(1),
                    misses: r.get(2),
                    entries: r.get(3),
                    bytes: r.get(4),
                })
                .collect())
        })
    }

    fn cache_entries(&self, skill: Option<&str>) -> Result<Vec<CacheEntry>, StoreError> {
        self.connections().call(async |c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM cache_entries WHERE ($1::TEXT IS NULL OR skill = $1)
                         ORDER BY last_used_at DESC, key COLLATE \"C\""
                    ),
                    &[&skill],
                )
                .await
                .db()?;
            Ok(rows.iter().map(from_row).collect())
        })
    }

    fn cache_clear(&self, skill: Option<&str>) -> Result<u64, StoreError> {
        self.connections().call(async |c| {
            retrying(async || {
                let tx = c.transaction().await?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CACHE_LOCK])
                    .await?;
                let removed = tx
                    .execute(
                        "DELETE FROM cache_entries WHERE ($1::TEXT IS NULL OR skill = $1)",
                        &[&skill],
                    )
                    .await?;
                tx.execute(
                    "DELETE FROM cache_counts WHERE ($1::TEXT IS NULL OR skill = $1)",
                    &[&skill],
                )
                .await?;
                tx.commit().await?;
                Ok(removed)
            })
            .await
        })
    }

    fn file_digests(&self, paths: &[String]) -> Result<Vec<FileDigest>, StoreError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        self.connections().call(async |c| {
            // In the order asked, as many times as asked.
            let rows = c
                .query(
                    "SELECT f.path, f.device, f.inode, f.size, f.mtime_ns, f.ctime_ns, f.digest
                     FROM unnest($1::TEXT[]) WITH ORDINALITY AS p(path, n)
                     JOIN file_digests f ON f.path = p.path
                     ORDER BY p.n",
                    &[&paths],
                )
                .await
                .db()?;
            Ok(rows
                .iter()
                .map(|r| FileDigest {
                    path: r.get(0),
                    device: r.get(1),
                    inode: r.get(2),
                    size: r.get(3),
                    mtime_ns: r.get(4),
                    ctime_ns: r.get(5),
                    digest: r.get(6),
                })
                .collect())
        })
    }

    fn save_file_digests(&self, files: &[FileDigest]) -> Result<(), StoreError> {
        if files.is_empty() {
            return Ok(());
        }
        // One row per path, the last given winning (as one replace after another would leave
        // it), in path order, so that two replicas saving overlapping sets lock their rows in
        // the same order and never deadlock.
        let mut by_path = std::collections::BTreeMap::new();
        for f in files {
            by_path.insert(f.path.as_bytes(), f);
        }
        let files: Vec<&FileDigest> = by_path.into_values().collect();
        self.connections().call(async |c| {
            retrying(async || {
                let tx = c.transaction().await?;
                let insert = tx
                    .prepare(
                        "INSERT INTO file_digests (path, device, inode, size, mtime_ns, ctime_ns, digest)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (path) DO UPDATE SET device = excluded.device,
                           inode = excluded.inode, size = excluded.size,
                           mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns,
                           digest = excluded.digest",
                    )
                    .await?;
                for f in &files {
                    tx.execute(
                        &insert,
                        &[
                            &f.path, &f.device, &f.inode, &f.size, &f.mtime_ns, &f.ctime_ns,
                            &f.digest,
                        ],
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            })
            .await
        })
    }
}
