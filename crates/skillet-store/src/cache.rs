//! What the result cache keeps: one stored result per key, counts per skill, and the content
//! digests of the files keys are made of. The engine owns what a key means.

use serde::Serialize;

use crate::StoreError;

/// The result cache's part of the store (every [`Store`](crate::Store) is one).
pub trait CacheStore {
    /// The live result under `key` for `skill`, counted as a hit; or `None`, counted as a miss
    /// when `count_miss`. An expired result is removed.
    fn cache_lookup(
        &self,
        skill: &str,
        key: &str,
        now_ms: i64,
        count_miss: bool,
    ) -> Result<Option<CacheEntry>, StoreError>;
    /// Stores a result, then evicts the least recently used ones until all fit in
    /// `max_bytes`; returns how many were evicted. A result larger than the bound is not kept.
    fn cache_put(&self, entry: &CacheEntry, max_bytes: u64) -> Result<u64, StoreError>;
    /// Hits, misses, entries and bytes per skill.
    fn cache_stats(&self) -> Result<Vec<CacheSkillStats>, StoreError>;
    /// Stored results (of one skill, or all), most recently used first.
    fn cache_entries(&self, skill: Option<&str>) -> Result<Vec<CacheEntry>, StoreError>;
    /// Removes the results and counts of one skill, or of all; returns how many results went.
    fn cache_clear(&self, skill: Option<&str>) -> Result<u64, StoreError>;
    /// The content digests on record for these absolute paths.
    fn file_digests(&self, paths: &[String]) -> Result<Vec<FileDigest>, StoreError>;
    /// Records content digests, replacing older ones of the same paths.
    fn save_file_digests(&self, files: &[FileDigest]) -> Result<(), StoreError>;
}

/// One stored result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheEntry {
    /// `sha256:` of everything the result depends on.
    pub key: String,
    /// The skill that made it.
    pub skill: String,
    /// The exit code it ended with.
    pub exit_code: Option<i64>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// Whether the output was cut at the cap.
    pub truncated: bool,
    /// The execution that made it.
    pub execution_id: Option<String>,
    /// When it was stored (ms since the epoch).
    pub created_at_ms: i64,
    /// When it stops answering (ms since the epoch).
    pub expires_at_ms: i64,
    /// Last time it answered a call, or when it was stored (ms since the epoch).
    pub last_used_at_ms: i64,
    /// Calls it answered.
    pub hits: i64,
}

impl CacheEntry {
    /// The bytes it counts for against the cache's bound.
    pub fn size(&self) -> i64 {
        let bytes = self.key.len() + self.skill.len() + self.stdout.len() + self.stderr.len();
        i64::try_from(bytes).unwrap_or(i64::MAX)
    }
}

/// Hits, misses and what is stored, for one skill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CacheSkillStats {
    /// The skill.
    pub skill: String,
    /// Calls answered from the cache.
    pub hits: i64,
    /// Calls that looked and found nothing valid.
    pub misses: i64,
    /// Results stored.
    pub entries: i64,
    /// Bytes they take.
    pub bytes: i64,
}

/// A file's content digest and the stamp it was taken at: while size, modification and change
/// times, device and inode are all the same, the content is taken to be the same and the file
/// is not read again. The change time cannot be set by a user, so an edit that restores the
/// size and the modification time still shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDigest {
    /// Absolute, resolved.
    pub path: String,
    /// Device of the file system.
    pub device: i64,
    /// Inode number.
    pub inode: i64,
    /// Size in bytes.
    pub size: i64,
    /// Modification time, in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Status change time, in nanoseconds since the epoch.
    pub ctime_ns: i64,
    /// `sha256:` of its bytes.
    pub digest: String,
}
