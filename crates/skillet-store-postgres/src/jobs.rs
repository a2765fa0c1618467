//! Background jobs' rows.

use skillet_store::{JobRecord, StoreError};

use crate::{PostgresStore, not_yet};

pub(crate) fn save(_s: &PostgresStore, _j: &JobRecord) -> Result<(), StoreError> {
    Err(not_yet("background jobs"))
}
pub(crate) fn get(_s: &PostgresStore, _id: &str) -> Result<Option<JobRecord>, StoreError> {
    Err(not_yet("background jobs"))
}
pub(crate) fn list(
    _s: &PostgresStore,
    _unfinished: bool,
    _limit: usize,
) -> Result<Vec<JobRecord>, StoreError> {
    Err(not_yet("background jobs"))
}
