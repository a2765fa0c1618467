//! Executions: recorded, found by id or prefix, listed newest first.

use skillet_store::{ExecutionQuery, ExecutionRecord};

use crate::Db;

crate::both!(schema_is_made_and_ready);

fn schema_is_made_and_ready(db: &Db) {
    let store = db.open();
    store.ready().expect("ready");
    // A second opener (another replica) finds the schema made and migrates nothing.
    let again = db.open();
    again.ready().expect("ready");
    let _ = ExecutionQuery::default();
    let _ = ExecutionRecord::new("x", "y", "ok");
}
