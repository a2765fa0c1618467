//! Text as PostgreSQL can keep it.

use std::borrow::Cow;

/// `text` with each NUL as U+FFFD: PostgreSQL's text cannot hold a NUL, and a program's output
/// (or an error quoting it) may (the SQLite store keeps it as it is). Without this, one `\0` in
/// a run's output would keep the whole tail out of `skillet logs`.
pub(crate) fn without_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}
