//! Store URLs as they may be shown: rebuilt from what the parser read, so a password is never
//! part of them however it was written (in the user part, as a parameter given twice, with an
//! encoded or upper-case key, in quotes, or in the `key=value` form).

use tokio_postgres::config::Host;

/// `url` as it may be shown: `postgres://USER@HOST:PORT/DATABASE`, with `***` where a password
/// was given; the parameters (which may hold one in forms a reader would not spot) are left
/// out. A URL the parser cannot read is not shown at all.
pub(crate) fn without_password(url: &str) -> String {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return "(the [store] url, not shown: it cannot be read as a PostgreSQL URL)".into();
    };
    let user = config.get_user().unwrap_or("");
    let secret = if config.get_password().is_some() {
        ":***"
    } else {
        ""
    };
    let at = if user.is_empty() && secret.is_empty() {
        String::new()
    } else {
        format!("{user}{secret}@")
    };
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match ports.get(i).or(ports.first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    let db = config.get_dbname().unwrap_or("");
    format!("postgres://{at}{}/{db}", hosts.join(","))
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn passwords_are_never_shown() {
        for (url, shown) in [
            ("postgres://me:s3cret@db/x", "postgres://me:***@db:5432/x"),
            (
                "postgresql://me:p%40ss@db:5432/x?sslmode=require",
                "postgres://me:***@db:5432/x",
            ),
            ("postgres://me:ab/cd?ef@db/x", "postgres://me:***@db:5432/x"),
            ("postgres://me@db/x", "postgres://me@db:5432/x"),
            (
                "postgres://db/x?user=me&password=pw&sslmode=disable",
                "postgres://me:***@db:5432/x",
            ),
            (
                "postgres://db/x?user=me&password=decoy&password=s3cret",
                "postgres://me:***@db:5432/x",
            ),
            (
                "postgres://db/x?user=me&pass%77ord=s3cret",
                "postgres://me:***@db:5432/x",
            ),
            (
                "host=db user=me password=s3cret dbname=x",
                "postgres://me:***@db:5432/x",
            ),
            (
                "host=db user=me password = s3cret dbname=x",
                "postgres://me:***@db:5432/x",
            ),
            (
                "host=db user=me password='s3 cret' dbname=x",
                "postgres://me:***@db:5432/x",
            ),
        ] {
            let got = without_password(url);
            assert!(
                !got.contains("s3") && !got.contains("decoy"),
                "{url}: {got}"
            );
            if url.parse::<tokio_postgres::Config>().is_ok() {
                // The port is shown when the parser has one (the URL form fills in 5432).
                assert_eq!(
                    got.replace(":5432", ""),
                    shown.replace(":5432", ""),
                    "{url}"
                );
            }
        }
        // What cannot be read is not echoed.
        for url in [
            "postgres://me:s3cret@db/x?&PASSWORD=s3cret&bogus",
            "not a url s3cret",
        ] {
            let got = without_password(url);
            assert!(!got.contains("s3cret"), "{url}: {got}");
        }
    }
}
