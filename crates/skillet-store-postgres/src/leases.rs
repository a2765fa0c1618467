//! Session leases: which process drives a live session.

use skillet_store::{LeaseGrant, LeaseRequest, SessionLease, StoreError};

use crate::{PostgresStore, not_yet};

pub(crate) fn lease(
    _s: &PostgresStore,
    _id: &str,
    _r: &LeaseRequest,
    _gone: &dyn Fn(&SessionLease) -> bool,
) -> Result<LeaseGrant, StoreError> {
    Err(not_yet("session leases"))
}
pub(crate) fn renew(
    _s: &PostgresStore,
    _id: &str,
    _owner: &str,
    _ttl_ms: i64,
) -> Result<bool, StoreError> {
    Err(not_yet("session leases"))
}
pub(crate) fn release(_s: &PostgresStore, _id: &str, _owner: &str) -> Result<(), StoreError> {
    Err(not_yet("session leases"))
}
pub(crate) fn get(_s: &PostgresStore, _id: &str) -> Result<Option<SessionLease>, StoreError> {
    Err(not_yet("session leases"))
}
