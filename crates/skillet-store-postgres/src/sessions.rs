//! Sessions and their transcripts.

use skillet_store::{SessionQuery, SessionRecord, StoreError, TurnRecord};

use crate::{PostgresStore, not_yet};

pub(crate) fn save(_s: &PostgresStore, _r: &SessionRecord) -> Result<(), StoreError> {
    Err(not_yet("sessions"))
}
pub(crate) fn list(
    _s: &PostgresStore,
    _q: &SessionQuery,
) -> Result<Vec<SessionRecord>, StoreError> {
    Err(not_yet("sessions"))
}
pub(crate) fn get(_s: &PostgresStore, _id: &str) -> Result<Option<SessionRecord>, StoreError> {
    Err(not_yet("sessions"))
}
pub(crate) fn add_turn(_s: &PostgresStore, _t: &TurnRecord) -> Result<(), StoreError> {
    Err(not_yet("sessions"))
}
pub(crate) fn turns(_s: &PostgresStore, _id: &str) -> Result<Vec<TurnRecord>, StoreError> {
    Err(not_yet("sessions"))
}
