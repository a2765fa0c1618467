//! The value test: what a credential looks like whatever its variable is called (a URL with a
//! password in it, a webhook URL, a token in a well-known format, a private key, a long
//! random-looking string).
//!
//! Kept apart from the name test in `env.rs` because it is a different kind of check: the name
//! test matches words, this one parses URLs and connection strings, knows token formats and
//! measures how random a string looks, and it grows with every credential format found.

/// The value test: what a credential looks like whatever its variable is called.
pub(super) fn secret_value(value: &str) -> Option<&'static str> {
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
pub(super) fn token_format(value: &str) -> bool {
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
        // Google OAuth access tokens (`gcloud auth print-access-token`), Vault tokens.
        ("ya29.", 30),
        ("hvs.", 20),
        ("hvb.", 20),
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
pub(super) fn secret_url(word: &str) -> Option<&'static str> {
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
    use super::super::credential_reason;
    use std::ffi::OsStr;

    fn why(name: &str, value: &str) -> Option<&'static str> {
        credential_reason(name, Some(OsStr::new(value)))
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
}
