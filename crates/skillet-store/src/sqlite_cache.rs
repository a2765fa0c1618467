//! The result cache in SQLite: lookups that count hits and misses, stores bounded by size with
//! the least recently used results evicted first, and the file digest index.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::{CacheEntry, CacheSkillStats, FileDigest, StoreError};

const COLUMNS: &str = "key, skill, exit_code, stdout, stderr, truncated, execution_id, \
    created_at, expires_at, last_used_at, hits";

fn from_row(r: &Row<'_>) -> rusqlite::Result<CacheEntry> {
    Ok(CacheEntry {
        key: r.get(0)?,
        skill: r.get(1)?,
        exit_code: r.get(2)?,
        stdout: r.get(3)?,
        stderr: r.get(4)?,
        truncated: r.get(5)?,
        execution_id: r.get(6)?,
        created_at_ms: r.get(7)?,
        expires_at_ms: r.get(8)?,
        last_used_at_ms: r.get(9)?,
        hits: r.get(10)?,
    })
}

fn count(conn: &Connection, skill: &str, hit: bool) -> rusqlite::Result<()> {
    let column = if hit { "hits" } else { "misses" };
    conn.execute(
        &format!(
            "INSERT INTO cache_counts (skill, {column}) VALUES (?1, 1)
             ON CONFLICT(skill) DO UPDATE SET {column} = {column} + 1"
        ),
        [skill],
    )?;
    Ok(())
}

/// The live entry under `key`, counted as a hit (its use time moves to `now_ms`), or `None`,
/// counted as a miss when `count_miss`. An expired entry is removed.
pub(crate) fn lookup(
    conn: &mut Connection,
    skill: &str,
    key: &str,
    now_ms: i64,
    count_miss: bool,
) -> Result<Option<CacheEntry>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM cache_entries WHERE key = ?1 AND skill = ?2"),
            params![key, skill],
            from_row,
        )
        .optional()?;
    let live = match found {
        Some(entry) if entry.expires_at_ms > now_ms => {
            tx.execute(
                "UPDATE cache_entries SET last_used_at = ?2, hits = hits + 1 WHERE key = ?1",
                params![key, now_ms],
            )?;
            count(&tx, skill, true)?;
            Some(CacheEntry {
                hits: entry.hits + 1,
                last_used_at_ms: now_ms,
                ..entry
            })
        }
        Some(_) => {
            tx.execute("DELETE FROM cache_entries WHERE key = ?1", [key])?;
            None
        }
        None => None,
    };
    if live.is_none() && count_miss {
        count(&tx, skill, false)?;
    }
    tx.commit()?;
    Ok(live)
}

/// Stores `entry` (replacing one under the same key), then evicts the least recently used
/// entries until all of them fit in `max_bytes`. Returns how many were evicted. An entry larger
/// than the whole bound is not stored.
pub(crate) fn put(
    conn: &mut Connection,
    entry: &CacheEntry,
    max_bytes: u64,
) -> Result<u64, StoreError> {
    let max = i64::try_from(max_bytes).unwrap_or(i64::MAX);
    let size = entry.size();
    if size > max {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        &format!("INSERT OR REPLACE INTO cache_entries ({COLUMNS}, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
        params![
            entry.key,
            entry.skill,
            entry.exit_code,
            entry.stdout,
            entry.stderr,
            entry.truncated,
            entry.execution_id,
            entry.created_at_ms,
            entry.expires_at_ms,
            entry.last_used_at_ms,
            entry.hits,
            size
        ],
    )?;
    let mut total: i64 = tx.query_row(
        "SELECT COALESCE(SUM(size), 0) FROM cache_entries",
        [],
        |r| r.get(0),
    )?;
    let mut evicted = 0;
    if total > max {
        // Oldest use first; the entry just stored is the newest, so it goes last (and, being
        // no larger than the bound, never has to).
        let mut oldest = tx.prepare(
            "SELECT key, size FROM cache_entries WHERE key != ?1 ORDER BY last_used_at, key",
        )?;
        let mut victims = Vec::new();
        let mut rows = oldest.query([&entry.key])?;
        while total > max {
            let Some(row) = rows.next()? else { break };
            let (key, size): (String, i64) = (row.get(0)?, row.get(1)?);
            total -= size;
            victims.push(key);
        }
        drop(rows);
        drop(oldest);
        let mut delete = tx.prepare("DELETE FROM cache_entries WHERE key = ?1")?;
        for key in &victims {
            delete.execute([key])?;
            evicted += 1;
        }
    }
    tx.commit()?;
    Ok(evicted)
}

/// Every skill with counts or entries, by name.
pub(crate) fn stats(conn: &Connection) -> Result<Vec<CacheSkillStats>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.skill,
                COALESCE(c.hits, 0), COALESCE(c.misses, 0),
                (SELECT COUNT(*) FROM cache_entries e WHERE e.skill = s.skill),
                (SELECT COALESCE(SUM(size), 0) FROM cache_entries e WHERE e.skill = s.skill)
         FROM (SELECT skill FROM cache_counts UNION SELECT skill FROM cache_entries) s
         LEFT JOIN cache_counts c ON c.skill = s.skill
         ORDER BY s.skill",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(CacheSkillStats {
            skill: r.get(0)?,
            hits: r.get(1)?,
            misses: r.get(2)?,
            entries: r.get(3)?,
            bytes: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stored entries (of one skill, or all), most recently used first.
pub(crate) fn entries(
    conn: &Connection,
    skill: Option<&str>,
) -> Result<Vec<CacheEntry>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM cache_entries WHERE (?1 IS NULL OR skill = ?1)
         ORDER BY last_used_at DESC, key"
    ))?;
    let rows = stmt.query_map([skill], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Removes the entries and counts of one skill, or of all; returns how many entries went.
pub(crate) fn clear(conn: &mut Connection, skill: Option<&str>) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let removed = tx.execute(
        "DELETE FROM cache_entries WHERE (?1 IS NULL OR skill = ?1)",
        [skill],
    )?;
    tx.execute(
        "DELETE FROM cache_counts WHERE (?1 IS NULL OR skill = ?1)",
        [skill],
    )?;
    tx.commit()?;
    Ok(removed as u64)
}

/// The digests on record for `paths` (those that have one).
pub(crate) fn file_digests(
    conn: &Connection,
    paths: &[String],
) -> Result<Vec<FileDigest>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, device, inode, size, mtime_ns, ctime_ns, digest FROM file_digests WHERE path = ?1",
    )?;
    let mut found = Vec::with_capacity(paths.len());
    for path in paths {
        let row = stmt
            .query_row([path], |r| {
                Ok(FileDigest {
                    path: r.get(0)?,
                    device: r.get(1)?,
                    inode: r.get(2)?,
                    size: r.get(3)?,
                    mtime_ns: r.get(4)?,
                    ctime_ns: r.get(5)?,
                    digest: r.get(6)?,
                })
            })
            .optional()?;
        found.extend(row);
    }
    Ok(found)
}

/// Records (or replaces) these digests.
pub(crate) fn save_file_digests(
    conn: &mut Connection,
    files: &[FileDigest],
) -> Result<(), StoreError> {
    if files.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR REPLACE INTO file_digests (path, device, inode, size, mtime_ns, ctime_ns, digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for f in files {
            insert.execute(params![
                f.path, f.device, f.inode, f.size, f.mtime_ns, f.ctime_ns, f.digest
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl crate::CacheStore for crate::SqliteStore {
    fn cache_lookup(
        &self,
        skill: &str,
        key: &str,
        now_ms: i64,
        count_miss: bool,
    ) -> Result<Option<CacheEntry>, StoreError> {
        self.checked(|| lookup(&mut self.conn(), skill, key, now_ms, count_miss))
    }

    fn cache_put(&self, entry: &CacheEntry, max_bytes: u64) -> Result<u64, StoreError> {
        self.checked(|| put(&mut self.conn(), entry, max_bytes))
    }

    fn cache_stats(&self) -> Result<Vec<CacheSkillStats>, StoreError> {
        self.checked(|| stats(&self.conn()))
    }

    fn cache_entries(&self, skill: Option<&str>) -> Result<Vec<CacheEntry>, StoreError> {
        self.checked(|| entries(&self.conn(), skill))
    }

    fn cache_clear(&self, skill: Option<&str>) -> Result<u64, StoreError> {
        self.checked(|| clear(&mut self.conn(), skill))
    }

    fn file_digests(&self, paths: &[String]) -> Result<Vec<FileDigest>, StoreError> {
        self.checked(|| file_digests(&self.conn(), paths))
    }

    fn save_file_digests(&self, files: &[FileDigest]) -> Result<(), StoreError> {
        self.checked(|| save_file_digests(&mut self.conn(), files))
    }
}

#[cfg(test)]
mod tests {
    use crate::{CacheEntry, CacheStore, SqliteStore};

    fn entry(key: &str, skill: &str, body: usize, used: i64) -> CacheEntry {
        CacheEntry {
            key: key.into(),
            skill: skill.into(),
            exit_code: Some(0),
            stdout: "x".repeat(body),
            stderr: String::new(),
            truncated: false,
            execution_id: None,
            created_at_ms: used,
            expires_at_ms: used + 1000,
            last_used_at_ms: used,
            hits: 0,
        }
    }

    #[test]
    fn hits_misses_expiry_and_lru_eviction() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("skillet.db")).unwrap();
        assert!(store.cache_lookup("s", "k1", 10, true).unwrap().is_none());
        store.cache_put(&entry("k1", "s", 100, 10), 10_000).unwrap();
        store.cache_put(&entry("k2", "s", 100, 20), 10_000).unwrap();
        // k1 used last, so k2 is the least recently used when k3 needs room.
        let hit = store.cache_lookup("s", "k1", 30, true).unwrap().unwrap();
        assert_eq!((hit.hits, hit.stdout.len()), (1, 100));
        assert!(
            store.cache_lookup("t", "k1", 30, true).unwrap().is_none(),
            "another skill's key"
        );
        let bound = 2 * entry("k1", "s", 100, 0).size() as u64;
        assert_eq!(
            store.cache_put(&entry("k3", "s", 100, 40), bound).unwrap(),
            1
        );
        let keys: Vec<_> = store
            .cache_entries(None)
            .unwrap()
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, ["k3", "k1"]);
        // Past its expiry an entry answers nothing and is gone.
        assert!(
            store
                .cache_lookup("s", "k3", 40 + 1000, true)
                .unwrap()
                .is_none()
        );
        let stats = store.cache_stats().unwrap();
        let s = stats.iter().find(|s| s.skill == "s").unwrap();
        assert_eq!((s.hits, s.misses, s.entries), (1, 2, 1));
        assert_eq!(store.cache_clear(Some("s")).unwrap(), 1);
        assert!(store.cache_entries(None).unwrap().is_empty());
        // Larger than the whole bound: not kept.
        assert_eq!(
            store.cache_put(&entry("big", "s", 1000, 50), 100).unwrap(),
            0
        );
        assert!(store.cache_entries(None).unwrap().is_empty());
    }
}
