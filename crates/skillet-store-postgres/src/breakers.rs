//! Circuit breakers: one row per skill, updated under a row lock.

use skillet_store::{BreakerRecord, StoreError};

use crate::{PostgresStore, not_yet};

pub(crate) fn update(
    _s: &PostgresStore,
    _skill: &str,
    _c: &mut dyn FnMut(Option<BreakerRecord>) -> Option<BreakerRecord>,
) -> Result<Option<BreakerRecord>, StoreError> {
    Err(not_yet("circuit breakers"))
}
pub(crate) fn list(_s: &PostgresStore) -> Result<Vec<BreakerRecord>, StoreError> {
    Err(not_yet("circuit breakers"))
}
