//! Rows found by their id or the start of it, with the SQLite store's rules for a prefix that
//! matches several (`sqlite_ids.rs`).

use skillet_store::StoreError;
use tokio_postgres::{GenericClient, Row};

use crate::error::OrStoreError;

/// Matches of an ambiguous prefix counted at most (as on SQLite), so that a one-character
/// prefix of a big history still answers at once.
const AMBIGUOUS_COUNT_CAP: usize = 1_000;

/// The row of `table` whose `id` is `id`, or else the only one whose id starts with it,
/// compared in lower case (as `sqlite_ids.rs` does; [`StoreError::Ambiguous`] when several
/// do). "Starts with" is `LIKE` in the `C` collation with the prefix's `%`, `_` and `\`
/// escaped, so they are plain text: true to the characters whatever the database's
/// collation, and a range of an index on `id COLLATE "C"` (the primary key itself in a
/// database whose collation is `C`; elsewhere, without such an index, the table is read).
pub(crate) async fn find_by_id<T>(
    client: &impl GenericClient,
    table: &'static str,
    columns: &str,
    id: &str,
    map: fn(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    // An empty prefix would be every row: it names none.
    if id.is_empty() {
        return Ok(None);
    }
    if let Some(row) = client
        .query_opt(
            &format!("SELECT {columns} FROM {table} WHERE id = $1"),
            &[&id],
        )
        .await
        .db()?
    {
        return map(&row).map(Some);
    }
    let pattern = starts_with(&id.to_lowercase());
    let found = client
        .query(
            &format!("SELECT {columns} FROM {table} WHERE id COLLATE \"C\" LIKE $1 LIMIT 2"),
            &[&pattern],
        )
        .await
        .db()?;
    match found.len() {
        0 => Ok(None),
        1 => map(&found[0]).map(Some),
        _ => {
            // How many, for the message; counted only so far.
            let count: i64 = client
                .query_one(
                    &format!(
                        "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE id COLLATE \"C\" LIKE $1 \
                         LIMIT {AMBIGUOUS_COUNT_CAP}) AS matching"
                    ),
                    &[&pattern],
                )
                .await
                .db()?
                .get(0);
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            Err(StoreError::Ambiguous {
                what: table,
                prefix: id.to_owned(),
                count,
                at_least: count >= AMBIGUOUS_COUNT_CAP,
            })
        }
    }
}

/// The `LIKE` pattern (escape character `\`, PostgreSQL's default) of the strings that start
/// with `prefix`.
pub(crate) fn starts_with(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::starts_with;

    #[test]
    fn a_prefix_is_a_pattern_without_wildcards() {
        assert_eq!(starts_with("0190a"), "0190a%");
        assert_eq!(starts_with("a%b_c\\"), "a\\%b\\_c\\\\%");
    }
}
