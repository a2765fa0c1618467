//! Authoring events (`skillet create`, `test`, `dev`).

use skillet_store::{AuthoringQuery, AuthoringRecord, AuthoringStats, AuthoringStore, StoreError};

use crate::{PostgresStore, not_yet};

impl AuthoringStore for PostgresStore {
    fn record_authoring(&self, _r: &AuthoringRecord) -> Result<(), StoreError> {
        Err(not_yet("authoring events"))
    }
    fn authoring_stats(&self, _q: &AuthoringQuery) -> Result<Vec<AuthoringStats>, StoreError> {
        Err(not_yet("authoring events"))
    }
}
