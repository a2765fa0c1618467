//! Ids and the prefixes people type for them: an exact id, else a key range over the sortable
//! UUIDv7 text, so a lookup is one index probe at any history size.

use rusqlite::{Connection, OptionalExtension as _, Row, params};

use crate::StoreError;

/// The row of `table` whose `id` is `id`, or else the only one whose id starts with it (people
/// copy the start of an id). Ids are lower-case UUIDv7 text, which sorts like the ids
/// themselves, so a prefix is a range of the primary key (`id >= p AND id < p_next`): one index
/// lookup whatever the table's size, where `LIKE` read every row.
pub(crate) fn find_by_id<T>(
    conn: &Connection,
    table: &'static str,
    columns: &str,
    id: &str,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>, StoreError> {
    // An empty prefix would be every row: it names none.
    if id.is_empty() {
        return Ok(None);
    }
    if let Some(exact) = conn
        .query_row(
            &format!("SELECT {columns} FROM {table} WHERE id = ?1"),
            [id],
            map,
        )
        .optional()?
    {
        return Ok(Some(exact));
    }
    let prefix = id.to_lowercase();
    let (range, end) = match prefix_end(&prefix) {
        Some(end) => ("id >= ?1 AND id < ?2", end),
        // Only a prefix of nothing but U+10FFFF has no successor: everything above it matches.
        None => ("id >= ?1 AND ?2 IS NOT NULL", String::new()),
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT {columns} FROM {table} WHERE {range} ORDER BY id LIMIT 2"
    ))?;
    let mut found: Vec<T> = stmt
        .query_map(params![prefix, end], map)?
        .collect::<Result<_, _>>()?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => {
            // How many, for the message; counted along the same index, and only so far.
            let count: i64 = conn.query_row(
                &format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {range} LIMIT {AMBIGUOUS_COUNT_CAP})"
                ),
                params![prefix, end],
                |r| r.get(0),
            )?;
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

/// Matches of an ambiguous prefix counted at most, so that a one-character prefix of a big
/// history still answers at once.
const AMBIGUOUS_COUNT_CAP: usize = 1_000;

/// The smallest string greater than every string that starts with `prefix`, in SQLite's
/// `BINARY` order (UTF-8 bytes, which is code point order): `prefix` with its last character
/// increased, after dropping trailing characters that have no successor.
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}
