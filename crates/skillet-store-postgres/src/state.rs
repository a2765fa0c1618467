//! Skill state: compare-and-swap on a document's revision.

use skillet_store::{StateCommit, StateKey, StateRecord, StateStore, StateWrite, StoreError};

use crate::{PostgresStore, not_yet};

impl StateStore for PostgresStore {
    fn state(&self, _k: &StateKey) -> Result<Option<StateRecord>, StoreError> {
        Err(not_yet("skill state"))
    }
    fn commit_state(
        &self,
        _k: &StateKey,
        _rev: i64,
        _w: &StateWrite<'_>,
    ) -> Result<StateCommit, StoreError> {
        Err(not_yet("skill state"))
    }
    fn states(&self, _ws: &str, _owner: Option<&str>) -> Result<Vec<StateRecord>, StoreError> {
        Err(not_yet("skill state"))
    }
}
