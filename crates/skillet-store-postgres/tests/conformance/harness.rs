//! How each check is run on both backends.

use std::sync::Arc;

use skillet_store::{SqliteStore, Store};
use skillet_store_postgres::PostgresStore;

/// One database, on one backend.
pub(crate) enum Db {
    /// A SQLite file in a directory of its own.
    Sqlite(tempfile::TempDir),
    /// A schema of the test server.
    Postgres(String),
}

impl Db {
    /// A new store on this database (another process's, another replica's).
    pub(crate) fn open(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite(dir) => {
                Arc::new(SqliteStore::open(&dir.path().join("skillet.db")).expect("open sqlite"))
            }
            Db::Postgres(url) => Arc::new(PostgresStore::open(url, None).expect("open postgres")),
        }
    }

    /// Which backend, for messages.
    #[allow(dead_code)]
    pub(crate) fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

pub(crate) fn on_sqlite(check: fn(&Db)) {
    check(&Db::Sqlite(tempfile::tempdir().expect("tempdir")));
}

pub(crate) fn on_postgres(check: fn(&Db)) {
    if let Some(url) = skillet_store_postgres::test_server::fresh_url() {
        check(&Db::Postgres(url));
    }
}

/// `both!(check, …)`: a `sqlite` and a `postgres` test for each check function of the module.
#[macro_export]
macro_rules! both {
    ($($check:ident),* $(,)?) => {
        $(
            mod $check {
                #[test]
                fn sqlite() {
                    $crate::harness::on_sqlite(super::$check)
                }
                #[test]
                fn postgres() {
                    $crate::harness::on_postgres(super::$check)
                }
            }
        )*
    };
}
