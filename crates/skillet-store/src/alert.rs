//! Alert events: each time an `[[alerts]]` rule fired or resolved for a skill, what the figure
//! was, and whether the user was told.

use serde::Serialize;

use crate::StoreError;

/// The most alert events kept; older ones go as new ones come.
pub const MAX_ALERT_EVENTS: i64 = 10_000;

/// One alert firing or resolving.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertEvent {
    /// The rule's name.
    pub name: String,
    /// The skill it fired for.
    pub skill: String,
    /// `firing` or `resolved`.
    pub state: String,
    /// The figure's value when it changed (`null` when there was none, as on resolving for a
    /// skill without runs).
    pub value: Option<f64>,
    /// The condition as written.
    pub condition: String,
    /// When, in ms since the epoch.
    pub at_ms: i64,
    /// How the notifications went: `pending` until they are done, then `ok` or what failed.
    pub notified: String,
}

/// Where alert events are kept, whatever the database.
///
/// An event is recorded the moment the alert changes, before anyone is told (its `notified`
/// then says `pending`), so a daemon that stops while notifying does not fire it again.
pub trait AlertStore {
    /// Adds one event (and drops the oldest beyond [`MAX_ALERT_EVENTS`]); returns its id.
    fn record_alert(&self, event: &AlertEvent) -> Result<i64, StoreError>;
    /// Says how the notifications of event `id` went.
    fn set_alert_notified(&self, id: i64, notified: &str) -> Result<(), StoreError>;
    /// Events newest first; `limit` 0 is all.
    fn alert_events(&self, limit: usize) -> Result<Vec<AlertEvent>, StoreError>;
    /// The newest event of every (alert, skill): each alert's state, however many events.
    fn alert_states(&self) -> Result<Vec<AlertEvent>, StoreError>;
}
