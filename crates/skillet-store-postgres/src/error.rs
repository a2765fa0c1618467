//! PostgreSQL errors as [`StoreError`]s that say what happened.

use skillet_store::StoreError;

/// How a [`StoreError::Server`] for a connection lost mid-call begins, so that the pool can
/// report it as [`StoreError::Unreachable`] instead.
pub(crate) const CLOSED: &str = "the connection to the database was lost";

/// The server's message with its SQLSTATE code and detail, or what happened to the connection.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text.push_str(": ");
            text.push_str(detail);
        }
        return text;
    }
    if e.is_closed() {
        return format!("{CLOSED}: {e}");
    }
    // The source says more than the wrapper ("error connecting to server" alone says little).
    match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

/// A [`tokio_postgres::Error`] as a [`StoreError`].
pub(crate) fn db(e: tokio_postgres::Error) -> StoreError {
    if e.is_closed()
        || e.as_db_error().is_none() && std::error::Error::source(&e).is_some()
        || e.code().is_some_and(|c| server_going_away(c.code()))
    {
        return StoreError::Server(format!("{CLOSED}: {}", describe(&e)));
    }
    StoreError::Server(describe(&e))
}

/// SQLSTATEs that say the server, not the statement, is the problem: connection exceptions
/// (class 08) and the server shutting down, starting up or restarting (57P01 to 57P03).
fn server_going_away(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// `?` on a PostgreSQL result in a function returning a [`StoreError`]: `.db()?`.
pub(crate) trait OrStoreError<T> {
    /// The result with its error made a [`StoreError`].
    fn db(self) -> Result<T, StoreError>;
}

impl<T> OrStoreError<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(db)
    }
}

/// Whether `e` is a serialization failure or deadlock, which a transaction retries.
pub(crate) fn is_retryable(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}
