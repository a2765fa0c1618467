//! `skillet store status` of a PostgreSQL store.

use skillet_store::{COUNTED_TABLES, StoreError, StoreStatus, TableCount};

use crate::PostgresStore;
use crate::error::OrStoreError;

pub(crate) fn read(store: &PostgresStore) -> Result<StoreStatus, StoreError> {
    store.connections().call(async |c| {
        let schema_version = crate::schema::version(c).await?;
        let server_version: String = c.query_one("SHOW server_version", &[]).await.db()?.get(0);
        let mut tables = Vec::new();
        if schema_version > 0 {
            for table in COUNTED_TABLES {
                // Table names come from the fixed list, never from input.
                let rows: i64 = c
                    .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                    .await
                    .db()?
                    .get(0);
                tables.push(TableCount { table, rows });
            }
        }
        Ok(StoreStatus {
            backend: "postgres",
            location: store.url().to_owned(),
            schema_version,
            supported_version: crate::SCHEMA_VERSION,
            server_version,
            tables,
        })
    })
}
