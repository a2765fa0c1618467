//! The result cache and the digests of keyed files.

use skillet_store::{CacheEntry, CacheSkillStats, CacheStore, FileDigest, StoreError};

use crate::{PostgresStore, not_yet};

impl CacheStore for PostgresStore {
    fn cache_lookup(
        &self,
        _skill: &str,
        _key: &str,
        _now_ms: i64,
        _count_miss: bool,
    ) -> Result<Option<CacheEntry>, StoreError> {
        Err(not_yet("the result cache"))
    }
    fn cache_put(&self, _e: &CacheEntry, _max: u64) -> Result<u64, StoreError> {
        Err(not_yet("the result cache"))
    }
    fn cache_stats(&self) -> Result<Vec<CacheSkillStats>, StoreError> {
        Err(not_yet("the result cache"))
    }
    fn cache_entries(&self, _skill: Option<&str>) -> Result<Vec<CacheEntry>, StoreError> {
        Err(not_yet("the result cache"))
    }
    fn cache_clear(&self, _skill: Option<&str>) -> Result<u64, StoreError> {
        Err(not_yet("the result cache"))
    }
    fn file_digests(&self, _p: &[String]) -> Result<Vec<FileDigest>, StoreError> {
        Err(not_yet("the result cache"))
    }
    fn save_file_digests(&self, _f: &[FileDigest]) -> Result<(), StoreError> {
        Err(not_yet("the result cache"))
    }
}
