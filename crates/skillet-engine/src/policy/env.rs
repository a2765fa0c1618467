//! Which of the parent's environment variables a code skill sees, and which look like
//! credentials that only the user may pass.
//!
//! A credential is recognised by its variable's name (`GITHUB_TOKEN`, `DATABASE_URL`,
//! `SLACK_WEBHOOK`, `SENTRY_DSN`…) or by its value (a URL with a password in it, a webhook URL,
//! a token in a well-known format, a private key), so an innocent name does not carry a secret
//! out.

use std::ffi::OsStr;

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

/// The value test: what a credential looks like whatever its variable is called.
fn secret_value(value: &str) -> Option<&'static str> {
    let value = value.trim();
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY") {
        return Some("its value is a private key");
    }
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("bearer ") || lower.starts_with("basic ") || lower.starts_with("token ") {
        return Some("its value is an authorization header");
    }
    // A value may hold several words (`Bearer ghp_…`, a list of URLs, a URL inside text).
    let words = value
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\''))
        .filter(|w| !w.is_empty());
    for word in words {
        // `KEY=ghp_…` holds the token after the `=`; a URL keeps its query whole.
        if token_format(word) || word.split('=').any(token_format) {
            return Some("its value looks like an access token");
        }
        if word
            .split(['=', ':', '@'])
            .chain([word])
            .any(random_looking)
        {
            return Some(
                "its value looks like a key or token (a long random-looking string: hex, \
                 base64 or base64url)",
            );
        }
        if let Some(why) = secret_url(word) {
            return Some(why);
        }
        if secret_setting(word) {
            return Some("its value is a connection string with a password or key in it");
        }
    }
    None
}

/// A key in none of the known formats: 24 or more hex digits (an API key, an HMAC secret, a
/// 128-bit key), or 20 or more base64/base64url characters mixing upper case, lower case and
/// digits that are spread like random data rather than words.
fn random_looking(word: &str) -> bool {
    let word = word.trim_end_matches('=');
    let hex = word.len() >= 24
        && word.bytes().all(|b| b.is_ascii_hexdigit())
        && word.bytes().any(|b| b.is_ascii_digit())
        && word.bytes().any(|b| b.is_ascii_alphabetic());
    if hex {
        return true;
    }
    let base64 = word.len() >= 20
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-'))
        && word.bytes().any(|b| b.is_ascii_uppercase())
        && word.bytes().any(|b| b.is_ascii_lowercase())
        && word.bytes().any(|b| b.is_ascii_digit())
        // A path (`/opt/App2/Bin`) is made of names, not drawn from an alphabet.
        && !word.starts_with('/')
        && !word.contains("//");
    base64 && entropy_bits(word) >= 3.5 && class_changes(word) * 20 >= (word.len() - 1) * 9
}

/// How often the kind of character (upper case, lower case, digit, other) changes from one to
/// the next: about two times in three in random base64, far less in words run together
/// (`MyProjectVersionTwo2`).
fn class_changes(word: &str) -> usize {
    let class = |b: &u8| match b {
        b'A'..=b'Z' => 0,
        b'a'..=b'z' => 1,
        b'0'..=b'9' => 2,
        _ => 3,
    };
    let classes: Vec<u8> = word.bytes().map(|b| class(&b)).collect();
    classes.windows(2).filter(|w| w[0] != w[1]).count()
}

/// Shannon entropy of `word`'s bytes, in bits per byte: random base64 of 20+ characters has
/// over 4, words and identifiers (`MyProject2024Version`) less.
fn entropy_bits(word: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in word.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = word.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// `Password=…`, `pwd=…`, `AccountKey=…`: the settings of connection strings (ADO.NET, ODBC,
/// libpq keywords, Azure) that hold the secret.
fn secret_setting(word: &str) -> bool {
    const KEYS: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "clientsecret",
        "client_secret",
        "token",
        "accesstoken",
        "access_token",
        "apikey",
        "api_key",
        "accountkey",
        "sharedaccesskey",
        "sharedaccesssignature",
    ];
    let Some((key, value)) = word.split_once('=') else {
        return false;
    };
    let key = key.trim().to_ascii_lowercase().replace(' ', "");
    !value.trim().is_empty() && KEYS.contains(&key.as_str())
}

/// Well-known token formats: GitHub, GitLab, Slack, OpenAI/Anthropic (`sk-`), Stripe, AWS
/// access key ids, Google API keys, npm, PyPI, Hugging Face, SendGrid, DigitalOcean, Shopify,
/// and JSON Web Tokens.
fn token_format(value: &str) -> bool {
    let tail_ok = |rest: &str, min: usize| {
        rest.len() >= min
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '='))
    };
    const PREFIXES: &[(&str, usize)] = &[
        ("ghp_", 20),
        ("gho_", 20),
        ("ghu_", 20),
        ("ghs_", 20),
        ("ghr_", 20),
        ("github_pat_", 20),
        ("glpat-", 16),
        ("glptt-", 16),
        ("gldt-", 16),
        ("xoxb-", 10),
        ("xoxp-", 10),
        ("xoxa-", 10),
        ("xoxr-", 10),
        ("xoxs-", 10),
        ("xoxe.", 10),
        ("xapp-", 10),
        ("sk-", 16),
        ("sk_live_", 16),
        ("sk_test_", 16),
        ("rk_live_", 16),
        ("whsec_", 16),
        ("AIza", 30),
        ("npm_", 30),
        ("pypi-", 30),
        ("hf_", 30),
        ("SG.", 30),
        ("dop_v1_", 30),
        ("shpat_", 20),
        ("shpss_", 20),
    ];
    if PREFIXES.iter().any(|(p, min)| {
        value
            .strip_prefix(p)
            .is_some_and(|rest| tail_ok(rest, *min))
    }) {
        return true;
    }
    // AWS access key ids: AKIA (long-term) or ASIA (temporary) and 16 upper-case letters/digits.
    let aws = [
        "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA",
    ]
    .iter()
    .any(|p| value.starts_with(p))
        && value.len() == 20
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    // A JSON Web Token: `eyJ…` header, payload and signature in base64url.
    let parts: Vec<&str> = value.split('.').collect();
    let jwt = value.starts_with("eyJ")
        && parts.len() == 3
        && parts.iter().all(|p| {
            p.len() >= 8
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '=')
        });
    // A Telegram bot token: the bot's number, `:`, and 35 characters.
    let telegram = value.split_once(':').is_some_and(|(id, secret)| {
        (8..=10).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_digit())
            && secret.len() == 35
            && secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    aws || jwt || telegram
}

/// A URL that carries a credential: a password or token in its userinfo, a token in its query,
/// or a webhook (a URL that is itself the secret).
fn secret_url(word: &str) -> Option<&'static str> {
    let (_scheme, rest) = word.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    if let Some((userinfo, _host)) = authority.rsplit_once('@') {
        // `git@host` names a user; `user:pw@host` or `TOKEN@host` carries a secret.
        if userinfo.contains(':') || userinfo.len() >= 20 {
            return Some("its value is a URL with a password or token in it");
        }
    }
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.to_ascii_lowercase();
    let path = after.to_ascii_lowercase();
    if (host == "hooks.slack.com"
        && (path.starts_with("/services/")
            || path.starts_with("/workflows/")
            || path.starts_with("/triggers/")))
        || ((host == "discord.com" || host == "discordapp.com" || host.ends_with(".discord.com"))
            && path.starts_with("/api/webhooks/"))
        || host.ends_with("webhook.office.com")
        || path.contains("/webhook")
        || path.contains("/hooks/")
    {
        return Some("its value is a webhook URL, which anyone holding it can post to");
    }
    let query = after.split_once('?').map(|(_, q)| q).unwrap_or("");
    const SECRET_PARAMS: &[&str] = &[
        "token",
        "access_token",
        "api_key",
        "apikey",
        "key",
        "secret",
        "password",
        "pass",
        "sig",
        "signature",
        "auth",
        "x-amz-signature",
        "x-goog-signature",
    ];
    let secret_param = query.split('&').any(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        !v.is_empty() && SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str())
    });
    secret_param.then_some("its value is a URL with a token in its query")
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
    fn credential_values_are_caught_under_innocent_names() {
        for value in [
            "postgres://app:hunter2@db.internal:5432/app",
            "postgresql://user:pw@localhost/db?sslmode=require",
            "mysql://root:root@127.0.0.1/x",
            "mongodb+srv://admin:s3cret@cluster0.mongodb.net/test",
            "redis://:password@cache:6379/0",
            "amqp://guest:guest@rabbit:5672/",
            "https://user:token@git.example.com/org/repo.git",
            "https://ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@github.com/o/r",
            "https://x-access-token:abc@github.com/o/r.git",
            "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
            "https://discord.com/api/webhooks/123/abcdef",
            "https://discordapp.com/api/webhooks/123/abcdef",
            "https://acme.webhook.office.com/webhookb2/abc",
            "https://ci.example.com/hooks/deploy-abc123",
            "https://storage.example.com/blob?sv=2020&sig=abcdef",
            "https://api.example.com/v1?api_key=abc123",
            "https://a.example/x, postgres://u:p@h/d",
            "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "glpat-abcdefghijklmnopqrst",
            "xoxb-1234567890-abcdefghij",
            "xoxp-1234567890-abcdefghij",
            "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
            "sk_live_abcdefghijklmnopqrstuvwx",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAIOSFODNN7EXAMPLE",
            "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
            "npm_abcdefghijklmnopqrstuvwxyz0123456789",
            "hf_abcdefghijklmnopqrstuvwxyz01234567",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----",
            "  ghp_0123456789abcdefghijklmnopqrstuvwxyz\n",
            "Server=db;Database=app;User Id=sa;Password=hunter2;",
            "host=db user=app password=hunter2 dbname=app",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc123==;EndpointSuffix=core.windows.net",
            "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc=",
            "jdbc:postgresql://db/app?user=app&password=hunter2",
            "Bearer abcdef0123456789",
            "Basic dXNlcjpwYXNz",
            "GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyz",
            "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ",
            // Keys in no known format: raw hex and base64 of random bytes.
            "9f86d081884c7d659a2feaa0c55ad015",
            "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B",
            "q7Jm2ZpX9vR4tK8wN3bL6yH1cF5dG0sA",
            "q7Jm2ZpX9vR4tK8wN3bL6yH1cF5dG0sA+/Zq==",
            "q7Jm2ZpX9vR4tK8w-N3bL6yH1cF5dG0sA_Zq",
            "user:9f86d081884c7d659a2feaa0c55ad015",
            "https://user:x@example.com",
        ] {
            for name in ["NOTES", "MY_VAR", "GIT_REMOTE", "CONFIG"] {
                assert!(why(name, value).is_some(), "{name}={value:?}");
            }
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
