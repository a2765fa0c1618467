//! Store URLs as they may be shown: never with their password.

/// `url` with any password replaced by `***`: `postgres://me:pw@db/x` is shown as
/// `postgres://me:***@db/x`, and a `password=` parameter likewise.
pub(crate) fn without_password(url: &str) -> String {
    let mut shown = url.to_owned();
    if let Some(rest) = shown
        .strip_prefix("postgres://")
        .or_else(|| shown.strip_prefix("postgresql://"))
    {
        let scheme_len = shown.len() - rest.len();
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@')
            && let Some(colon) = rest[..at].find(':')
        {
            shown.replace_range(scheme_len + colon + 1..scheme_len + at, "***");
        }
    }
    if let Some(start) = shown.find("password=") {
        let value = start + "password=".len();
        let end = shown[value..]
            .find(['&', ' '])
            .map_or(shown.len(), |e| value + e);
        shown.replace_range(value..end, "***");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn passwords_are_never_shown() {
        for (url, shown) in [
            ("postgres://me:s3cret@db/x", "postgres://me:***@db/x"),
            (
                "postgresql://me:p@ss@db:5432/x?sslmode=require",
                "postgresql://me:***@db:5432/x?sslmode=require",
            ),
            ("postgres://me@db/x", "postgres://me@db/x"),
            (
                "postgres://db/x?user=me&password=pw&sslmode=disable",
                "postgres://db/x?user=me&password=***&sslmode=disable",
            ),
            (
                "host=db user=me password=pw dbname=x",
                "host=db user=me password=*** dbname=x",
            ),
        ] {
            assert_eq!(without_password(url), shown, "{url}");
        }
    }
}
