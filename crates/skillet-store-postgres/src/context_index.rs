//! What each skill's last context selection saw.

use skillet_store::{IndexedFile, StoreError};

use crate::{PostgresStore, not_yet};

pub(crate) fn get(_s: &PostgresStore, _skill: &str) -> Result<Vec<IndexedFile>, StoreError> {
    Err(not_yet("the context index"))
}
pub(crate) fn replace(
    _s: &PostgresStore,
    _skill: &str,
    _f: &[IndexedFile],
) -> Result<(), StoreError> {
    Err(not_yet("the context index"))
}
