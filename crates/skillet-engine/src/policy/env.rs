//! Which of the parent's environment variables a code skill sees, and which look like
//! credentials that only the user may pass.
//!
//! A credential is recognised by its variable's name (`GITHUB_TOKEN`, `DATABASE_URL`,
//! `SLACK_WEBHOOK`, `SENTRY_DSN`…) or by its value (a URL with a password in it, a webhook URL,
//! a token in a well-known format, a private key), so an innocent name does not carry a secret
//! out.

use std::ffi::OsStr;

mod value;

use value::secret_value;

mod redact;
pub use redact::redact_credentials;

/// Parent variables every code skill sees: enough for programs to find themselves and speak the
/// user's language, nothing that identifies a service or holds a credential. (`HOME` and
/// `TMPDIR` point at the run's scratch directory.)
pub const DEFAULT_ENV_PASSTHROUGH: &[&str] = &[
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "TERM",
    "TZ",
    "USER",
    "LOGNAME",
];

/// Whether a variable name looks like it holds a credential.
///
/// ```
/// use skillet_engine::looks_secret;
/// assert!(looks_secret("GITHUB_TOKEN") && looks_secret("AWS_REGION") && looks_secret("db_password"));
/// assert!(looks_secret("DATABASE_URL") && looks_secret("SLACK_WEBHOOK") && looks_secret("SENTRY_DSN"));
/// assert!(!looks_secret("PATH") && !looks_secret("LANG") && !looks_secret("HOMEPAGE_URL"));
/// ```
pub fn looks_secret(name: &str) -> bool {
    secret_name(name).is_some()
}

/// Why the variable `name`, holding `value` in the parent environment, looks like a credential;
/// `None` when it does not.
///
/// ```
/// use skillet_engine::credential_reason;
/// assert!(credential_reason("NOTES", Some("postgres://app:hunter2@db/app".as_ref())).is_some());
/// assert!(credential_reason("NOTES", Some("buy milk".as_ref())).is_none());
/// ```
pub fn credential_reason(name: &str, value: Option<&OsStr>) -> Option<&'static str> {
    secret_name(name).or_else(|| secret_value(&value?.to_string_lossy()))
}

/// The name test: words that name credentials, services whose variables are credentials, and
/// connection strings (which carry passwords) by their usual names.
fn secret_name(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    const PREFIXES: &[&str] = &[
        "AWS_",
        "AZURE_",
        "GCP_",
        "GOOGLE_",
        "SSH_",
        "GPG_",
        "OPENAI_",
        "ANTHROPIC_",
    ];
    const PARTS: &[&str] = &[
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "CREDENTIAL",
        "CREDS",
        "API_KEY",
        "APIKEY",
        "PRIVATE",
        "SESSION",
        "COOKIE",
        "AUTH",
        "BEARER",
        "JWT",
        "ACCESS_KEY",
    ];
    if PREFIXES.iter().any(|p| upper.starts_with(p))
        || upper.ends_with("_KEY")
        || upper.ends_with("_PASS")
        || upper.ends_with("_PWD")
        || upper.ends_with("_PAT")
        || PARTS.iter().any(|p| upper.contains(p))
    {
        return Some("its name says it holds a credential");
    }
    if secret_words(&upper) {
        return Some("its name says it holds a credential");
    }
    if upper.contains("WEBHOOK") || upper.contains("HOOK_URL") {
        return Some("its name says it is a webhook URL, which anyone holding it can post to");
    }
    // `*_DSN` (Sentry, ODBC, …), `*_CONN*` (connection strings) and the usual names of
    // database and broker URLs, which carry their password inside.
    const CONNECTION_WORDS: &[&str] = &[
        "DATABASE",
        "DB",
        "POSTGRES",
        "PG",
        "MYSQL",
        "MARIADB",
        "MONGO",
        "REDIS",
        "AMQP",
        "RABBIT",
        "BROKER",
        "KAFKA",
        "ELASTIC",
        "CLICKHOUSE",
        "SQL",
    ];
    let mut words: Vec<&str> = upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // `PGURL`, `DATABASEURI`: the suffix is a word of its own.
    if let Some(last) = words.pop() {
        match ["URLS", "URL", "URI"]
            .iter()
            .find_map(|s| last.strip_suffix(s).map(|rest| (rest, *s)))
        {
            Some((rest, suffix)) => {
                if !rest.is_empty() {
                    words.push(rest);
                }
                words.push(suffix);
            }
            None => words.push(last),
        }
    }
    let is_url = matches!(words.last(), Some(&("URL" | "URI" | "URLS" | "DSN")));
    if upper.ends_with("DSN")
        || upper.contains("_CONN")
        || upper.starts_with("CONN")
        || upper.contains("CONNECTION_STRING")
        || (is_url
            && words[..words.len() - 1].iter().any(|w| {
                CONNECTION_WORDS
                    .iter()
                    .any(|c| w == c || w.ends_with(c) || w.starts_with(c))
            }))
    {
        return Some("its name says it is a connection string, which usually holds a password");
    }
    None
}

/// Words that name a secret when they stand alone in a variable's name, split at `_`, `-`,
/// `.` and digits (`LDAP_BIND_PW`, `SIGNING_KEY_1`, `MASTER_KEY_B64`, `OTP_SEED`): a list of
/// substrings cannot hold short words like `PW` or `PIN` without catching `PWD` or `SPINNER`.
const SECRET_WORDS: &[&str] = &[
    // Password in other languages, and names tools use for one (`sshpass -e`, SonarQube's
    // token, a Wi-Fi pre-shared key).
    "PASSWORT",
    "KENNWORT",
    "PASSE",
    "SENHA",
    "CONTRASENA",
    "PAROLA",
    "SSHPASS",
    "LOGIN",
    "PSK",
    "MASTERKEY",
    "PW",
    "PWS",
    "PASS",
    "PASSES",
    "PASSWD",
    "PASSWORD",
    "PASSWORDS",
    "PASSPHRASE",
    "PASSCODE",
    "PGPASS",
    "PGPASSFILE",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "TOKENS",
    "KEY",
    "KEYS",
    "PRIVKEY",
    "APIKEY",
    "MNEMONIC",
    "SEED",
    "SEEDS",
    "HMAC",
    "OTP",
    "TOTP",
    "HOTP",
    "PIN",
    "SALT",
    "PEPPER",
    "CRED",
    "CREDS",
    "CREDENTIAL",
    "CREDENTIALS",
    "AUTH",
    "AUTHN",
    "AUTHZ",
    "COOKIE",
    "COOKIES",
    "SESSION",
    "PRIVATE",
    "CERT",
    "CERTS",
    "SIGNING",
    "SIGNATURE",
    "SIG",
    "DSN",
    "PAT",
    "JWT",
    "BEARER",
    "NETRC",
    "KEYRING",
    "KEYSTORE",
    "WALLET",
    "VAULT",
    "OAUTH",
    "SSO",
    "SAML",
];

/// Whether a word of the (upper-case) name, split at every character that is not a letter,
/// is one of [`SECRET_WORDS`].
fn secret_words(upper: &str) -> bool {
    upper
        .split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| SECRET_WORDS.contains(&w))
}

/// The credentials among the variables a run is passed, with their values as it will read them
/// (in this process, as the sandbox reads them at spawn). Values too short to be told apart
/// from ordinary output are left out.
pub(crate) fn passed_credentials(passthrough: &[String]) -> Vec<(String, String)> {
    passthrough
        .iter()
        .filter_map(|name| {
            let value = std::env::var_os(name)?;
            credential_reason(name, Some(&value))?;
            let value = value.to_string_lossy().into_owned();
            (value.len() >= 6).then(|| (name.clone(), value))
        })
        .collect()
}

/// The forms a program commonly prints a credential `value` in: as it is, base64 (with and
/// without padding, URL-safe) and hex. None for a value under 6 bytes, whose forms would match
/// ordinary text.
pub(crate) fn credential_forms(value: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    if value.len() < 6 {
        return Vec::new();
    }
    let bytes = value.as_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        value.to_owned(),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        hex.to_ascii_uppercase(),
        hex,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(name: &str, value: &str) -> Option<&'static str> {
        credential_reason(name, Some(OsStr::new(value)))
    }

    #[test]
    fn credential_names_are_caught() {
        for name in [
            "GITHUB_TOKEN",
            "db_password",
            "DB_PASS",
            "MYSQL_PWD",
            "AWS_REGION",
            "STRIPE_API_KEY",
            "SIGNING_KEY",
            "DATABASE_URL",
            "database_url",
            "TEST_DATABASE_URL",
            "PRIMARY_DB_URL",
            "MONGODB_URI",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "AMQP_URL",
            "SENTRY_DSN",
            "DSN",
            "ODBC_DSN",
            "SLACK_WEBHOOK",
            "DISCORD_WEBHOOK_URL",
            "MY_WEBHOOK_SECRET_PATH",
            "TEAMS_HOOK_URL",
            "DB_CONN",
            "DB_CONNECTION",
            "PG_CONN_STR",
            "CONNECTION_STRING",
            "AZURE_STORAGE_CONNECTION_STRING",
            "SQLALCHEMY_DATABASE_URI",
            "JWT",
            "KEYSTORE_PASSPHRASE",
            "PGURL",
            "DATABASEURI",
            "GH_PAT",
            "MINIO_ACCESS_KEY_ID",
            // Found by an outside review: other languages, and tools' own names for one.
            "SSHPASS",
            "SONAR_LOGIN",
            "MASTERKEY",
            "WIFI_PSK",
            "PSK",
            "PASSWORT",
            "DB_KENNWORT",
            "MOT_DE_PASSE",
            "SENHA",
            // Found by a red team: short words and digits around them.
            "LDAP_BIND_PW",
            "DB_PW",
            "WALLET_MNEMONIC",
            "ENCRYPTION_KEYS",
            "MASTER_KEY_B64",
            "SIGNING_KEY_1",
            "HMAC",
            "OTP_SEED",
            "PGPASS",
            "PGPASSFILE",
            "app_pin",
            "Session2Cookie",
            "SAML_CERT",
            "KEY",
            "X1KEY2",
        ] {
            assert!(looks_secret(name), "{name}");
        }
    }

    #[test]
    fn ordinary_names_with_ordinary_values_pass() {
        for (name, value) in [
            ("PATH", "/usr/bin:/bin"),
            ("LANG", "en_US.UTF-8"),
            ("MY_VAR", "hello"),
            ("EDITOR", "vim"),
            ("HOMEPAGE_URL", "https://example.com/docs?page=2"),
            ("GIT_REMOTE", "ssh://git@github.com/org/repo.git"),
            ("PROXY_URL", "http://proxy.internal:3128"),
            ("SKETCH", "sk-short"),
            ("DESK", "desk-123"),
            ("ID", "AKIA"),
            ("NOTE", "eyJ is not a token"),
            ("PWD", "/home/me/src"),
            ("SEARCH_URL", "https://example.com/search?q=rust"),
            ("FEEDBACK_URL", "https://example.com/feedback"),
            ("CURL", "curl"),
            ("OPTIONS", "mode=fast level=3"),
            ("CLOCK", "12:30"),
            ("OLDPWD", "/home/me"),
            ("LC_TIME", "en_GB.UTF-8"),
            ("TERM", "xterm-256color"),
            ("EDITOR", "/usr/bin/vim"),
            ("KEYBOARD", "us"),
            ("SPINNER", "dots"),
            ("PINENTRY_USER_DATA", "x"),
            ("MONKEYS", "3"),
            ("BUILD_ID", "2024-05-01"),
            ("RUST_LOG", "skillet=debug,hyper=info"),
            ("LIBRARY", "/usr/lib/x86_64-linux-gnu"),
            ("APP_HOME", "/opt/MyApp2/Current/Bin"),
            ("REQUEST_ID", "123e4567-e89b-12d3-a456-426614174000"),
            ("SHORT_HEX", "deadbeef1234"),
            ("TITLE", "MyProjectVersionTwo2"),
        ] {
            assert_eq!(why(name, value), None, "{name}={value}");
        }
    }

    #[test]
    fn the_reason_names_what_was_seen() {
        assert!(why("X", "postgres://a:b@h/d").unwrap().contains("password"));
        assert!(
            why("X", "https://hooks.slack.com/services/T/B/C")
                .unwrap()
                .contains("webhook")
        );
        assert!(
            why("X", "xoxb-1234567890-abcdefghij")
                .unwrap()
                .contains("token")
        );
        assert!(
            why("DATABASE_URL", "")
                .unwrap()
                .contains("connection string")
        );
        assert_eq!(credential_reason("MY_VAR", None), None);
    }
}
