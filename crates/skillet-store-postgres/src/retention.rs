//! Pruning the history by a retention rule.

use skillet_store::{PruneReport, Retention, StoreError};

use crate::{PostgresStore, not_yet};

pub(crate) fn prune(_s: &PostgresStore, _r: &Retention) -> Result<PruneReport, StoreError> {
    Err(not_yet("pruning"))
}
