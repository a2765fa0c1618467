//! Alert events.

use skillet_store::{AlertEvent, AlertStore, StoreError};

use crate::{PostgresStore, not_yet};

impl AlertStore for PostgresStore {
    fn record_alert(&self, _e: &AlertEvent) -> Result<i64, StoreError> {
        Err(not_yet("alerts"))
    }
    fn set_alert_notified(&self, _id: i64, _n: &str) -> Result<(), StoreError> {
        Err(not_yet("alerts"))
    }
    fn alert_events(&self, _limit: usize) -> Result<Vec<AlertEvent>, StoreError> {
        Err(not_yet("alerts"))
    }
    fn alert_states(&self) -> Result<Vec<AlertEvent>, StoreError> {
        Err(not_yet("alerts"))
    }
}
