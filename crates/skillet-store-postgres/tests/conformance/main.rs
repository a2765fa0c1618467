//! The store's behaviour, checked on both backends: every check here runs once on a SQLite
//! file and once on a PostgreSQL database (a fresh schema of the test server; see
//! `skillet_store_postgres::test_server`).
//!
//! A check gets a [`Db`]: `db.open()` is a new store on the same database, as a second process
//! or another replica would open it, so checks of what must hold across processes use two.

mod harness;

mod executions;

pub(crate) use harness::Db;
