//! The store's behaviour, checked on both backends: every check here runs once on a SQLite
//! file and once on a PostgreSQL database (a fresh schema of the test server; see
//! `skillet_store_postgres::test_server`).
//!
//! A check gets a [`Db`]: `db.open()` is a new store on the same database, as a second process
//! or another replica would open it, so checks of what must hold across processes use two.

mod harness;

mod authoring;
mod context_index;
mod executions;
mod job_queue;
mod jobs;
mod logs;
mod retention;
mod retention_order;

mod alerts;
mod breakers;
mod cache;
mod channels;
mod leases;
mod sessions;
mod state;

pub(crate) use harness::Db;
