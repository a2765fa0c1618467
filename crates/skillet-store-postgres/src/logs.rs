//! Searchable logs: skillet's events and the tails of each execution's output.

use skillet_store::{LogLine, LogQuery, LogStore, StoreError};

use crate::{PostgresStore, not_yet};

impl LogStore for PostgresStore {
    fn append_logs(&self, _l: &[LogLine]) -> Result<(), StoreError> {
        Err(not_yet("logs"))
    }
    fn index_logs(&self) -> Result<u64, StoreError> {
        Err(not_yet("logs"))
    }
    fn scan_logs(
        &self,
        _q: &LogQuery,
        _v: &mut dyn FnMut(LogLine) -> bool,
    ) -> Result<(), StoreError> {
        Err(not_yet("logs"))
    }
}
