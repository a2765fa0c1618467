//! Credentials taken out of text that is kept (the stored tails of a run's output): what a
//! skill prints must not land in the store, whatever form the secret takes in the text.
//!
//! The checks are those of the environment tests turned to free text: private key blocks,
//! the user's own credentials by value, passwords in URLs, authorization headers, settings
//! whose key names a secret (`password=…`, `"api_key": "…"`, `_authToken=…`), tokens in a
//! known format wherever they sit in a word, and long base64 runs (key material, JWT-like
//! blobs). Long hex strings are kept: in output they are commits and digests, which a reader
//! needs.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::{Captures, Regex};

use super::credential_reason;
use super::value::{secret_url, token_format};

const REDACTED: &str = "[redacted]";

/// `text` with every credential in it replaced by `[redacted]`.
///
/// ```
/// use skillet_engine::redact_credentials;
/// let line = "pushed (ghp_abcdefghijklmnopqrstuvwxyz0123456789) at 3f2a9c0e1b7d4a5f8e6c2b1a0d9e8f7a6b5c4d3e";
/// assert_eq!(redact_credentials(line), "pushed ([redacted]) at 3f2a9c0e1b7d4a5f8e6c2b1a0d9e8f7a6b5c4d3e");
/// assert_eq!(redact_credentials("Password=hunter2;Server=db"), "Password=[redacted];Server=db");
/// ```
pub fn redact_credentials(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    if text.trim().is_empty() {
        return out;
    }
    // Each pass first asks whether the text holds what its pattern cannot match without, so
    // a pattern is compiled only by a process whose output might need it: compiling them all
    // cost a one-shot `skillet run` more than the rest of its bookkeeping.
    if text.contains("PRIVATE KEY-----") {
        replace(&mut out, private_key(), |_| "[redacted private key]".into());
    }
    for value in known_values() {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), REDACTED).into();
        }
    }
    if out.contains("://") {
        replace(&mut out, url_password(), |c| {
            format!("{}{}:{REDACTED}@", &c[1], &c[2])
        });
    }
    // `ſ` (long s) folds to `s` as the pattern's case-insensitive match sees it.
    if out.contains('ſ')
        || ["bearer", "basic", "authorization:"]
            .iter()
            .any(|word| contains_ignoring_case(&out, word))
    {
        replace(&mut out, authorization(), |c| {
            format!("{}{REDACTED}", &c[1])
        });
    }
    if out.contains("--") || out.contains("-u") || out.contains("-p") {
        replace(&mut out, flag(), |c| format!("{}{REDACTED}", &c[1]));
    }
    if out.contains(['=', ':']) {
        // Only a changed text is copied.
        let settled = match redact_settings(&out) {
            Cow::Owned(changed) => Some(changed),
            Cow::Borrowed(_) => None,
        };
        if let Some(changed) = settled {
            out = Cow::Owned(changed);
        }
    }
    if let Some(replaced) = redact_words(&out) {
        out = Cow::Owned(replaced);
    }
    out
}

/// Whether `text` holds `word` (lower case ASCII) in any case.
fn contains_ignoring_case(text: &str, word: &str) -> bool {
    text.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// `text` with every run of the characters tokens, keys and URLs are made of
/// (`[A-Za-z0-9_.=:/+~-]`) that is a token, a webhook or key material replaced; `None` when
/// there is none.
fn redact_words(text: &str) -> Option<String> {
    let in_word = |b: u8| b.is_ascii_alphanumeric() || b"_.=:/+~-".contains(&b);
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let (mut copied, mut at) = (0, 0);
    while at < bytes.len() {
        if !in_word(bytes[at]) {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && in_word(bytes[at]) {
            at += 1;
        }
        // Word bytes are ASCII, so both ends are character boundaries.
        let run = &text[start..at];
        let token = run
            .split(['=', ':', '/', '.', '~'])
            .chain([run])
            .any(token_format);
        let webhook = run.contains("://") && secret_url(run).is_some();
        if token || webhook || key_material(run) {
            let kept = out.get_or_insert_with(|| String::with_capacity(text.len()));
            kept.push_str(&text[copied..start]);
            kept.push_str(REDACTED);
            copied = at;
        }
    }
    out.map(|mut kept| {
        kept.push_str(&text[copied..]);
        kept
    })
}

/// `text` with the value of every setting whose key names a secret redacted. The value of a
/// setting whose key does not may hold one (`config: password=…`, `Set-Cookie: token=…`,
/// `env=DB_PASSWORD=…`): it is looked at in turn.
fn redact_settings(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    replace(&mut out, setting(), |c| {
        if secret_key(&c[1]) && c[4].len() >= 4 && c[4] != *REDACTED {
            format!("{}{}{}{REDACTED}", &c[1], &c[2], &c[3])
        } else if c[4].contains(['=', ':']) {
            format!("{}{}{}{}", &c[1], &c[2], &c[3], redact_settings(&c[4]))
        } else {
            c[0].to_owned()
        }
    });
    out
}

/// Whether a setting's key names a secret: its last word (`db_password`, `apiKey`,
/// `_authToken`, `client-secret`) is one that does. Narrower than the environment's name test,
/// which also takes every variable of some services: in output, `Author:` or `Tokens: 12` are
/// not secrets.
fn secret_key(key: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "credential",
        "credentials",
    ];
    let squashed = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    ENDINGS.iter().any(|e| squashed.ends_with(e))
}

/// Replaces every match of `pattern` in `text` by what `with` makes of it, allocating only
/// when something matched.
fn replace(text: &mut Cow<'_, str>, pattern: &Regex, with: impl Fn(&Captures<'_>) -> String) {
    if !pattern.is_match(text) {
        return;
    }
    let replaced = pattern
        .replace_all(text, |c: &Captures<'_>| with(c))
        .into_owned();
    *text = Cow::Owned(replaced);
}

fn compiled(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    // The patterns are constants, checked by the tests below.
    #[allow(clippy::expect_used)]
    cell.get_or_init(|| Regex::new(pattern).expect("a constant pattern"))
}

/// A PEM private key, up to its end line or the end of the text.
fn private_key() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    compiled(
        &P,
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
    )
}

/// `scheme://user:password@…`: the password is everything up to the word's last `@` (it may
/// hold `/` or `@` itself).
fn url_password() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    compiled(&P, r"([A-Za-z][A-Za-z0-9+.-]*://)([^\s:/@]*):\S*@")
}

/// `Bearer X`, `Basic X`, and `Authorization: token X`.
fn authorization() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    compiled(
        &P,
        r"(?i)(\b(?:bearer|basic)\s+|\bauthorization:\s*(?:token\s+)?)[A-Za-z0-9._~+/=-]{8,}",
    )
}

/// `key = value`, `key: value`, `"key": "value"`, `'key': 'value'`, `key=\"value\"`, and
/// the joiners of other languages (`:key => "value"` in Ruby, Perl and PHP, `key := value` in
/// Go and Make; `$cfg["key"] = …`): the key, what joins it, an opening quote (escaped or
/// not), and the value up to a blank, a quote or a separator.
fn setting() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    compiled(
        &P,
        r#"([A-Za-z_][A-Za-z0-9_.-]*)(\\?["']?\]?\s*(?:=>|:=|[=:])\s*)(\\?["']?)([^\s"'\\;,&]+)"#,
    )
}

/// Command-line options that take a secret: `--password X`, `--token=X`, curl's
/// `-u user:password`, and the `-p` of the tools where it is a password (the MySQL and
/// MariaDB clients' `-pSECRET`, `sshpass -p SECRET`): elsewhere `-p` is a port, a path or a
/// flag (`mkdir -p`, `gcc -pthread`), so it is taken only after one of those tools' names.
fn flag() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    compiled(
        &P,
        r"(--(?:password|passwd|token|api-key|secret)[= ]|\s-u\s+[^\s:]+:|\b(?:mysql[a-z_-]*|mariadb[a-z_-]*)\b[^\n]*?\s-p|\bsshpass\s+-p\s*)\S{4,}",
    )
}

/// Base64 or base64url of 32 characters or more that mixes upper case, lower case and digits:
/// key material (a private key's body line, a JWT part, an API secret). Hex digests are lower
/// case only and stay.
fn key_material(run: &str) -> bool {
    // An AWS secret access key: 40 characters of base64 that hold `/` or `+`.
    let aws = run.len() == 40
        && run
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'+'))
        && run.bytes().any(|b| matches!(b, b'/' | b'+'))
        && run.bytes().any(|b| b.is_ascii_uppercase())
        && run.bytes().any(|b| b.is_ascii_lowercase())
        && run.bytes().any(|b| b.is_ascii_digit());
    aws || run
        .split([':', '/', '='])
        .chain([run.trim_end_matches('=')])
        .any(|part| {
            part.len() >= 32
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'_'))
                && part.bytes().any(|b| b.is_ascii_uppercase())
                && part.bytes().any(|b| b.is_ascii_lowercase())
                && part.bytes().filter(u8::is_ascii_digit).count() >= 2
        })
}

/// The values of the user's environment variables that look like credentials (by
/// [`credential_reason`]), longest first so that a value inside another is not replaced
/// first. Short values ("1", "on") would blank out ordinary words; a credential is longer.
fn known_values() -> &'static [String] {
    static KNOWN: OnceLock<Vec<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut values: Vec<String> = std::env::vars_os()
            .filter(|(name, value)| {
                credential_reason(&name.to_string_lossy(), Some(value)).is_some()
            })
            .filter_map(|(_, value)| value.into_string().ok())
            // A value read from a file with CRLF ends keeps its `\r`; the program prints it
            // without.
            .map(|value| value.trim().to_owned())
            .filter(|value| value.len() >= 8)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values
    })
}

#[cfg(test)]
mod tests {
    use super::redact_credentials;

    const GH: &str = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";

    fn kept(text: &str) -> String {
        redact_credentials(text).into_owned()
    }

    #[test]
    fn tokens_are_found_whatever_surrounds_them() {
        for line in [
            format!("gh-in-parens ({GH})"),
            format!("token:{GH}"),
            format!("in `{GH}` backticks"),
            format!("<{GH}>"),
            format!("naïve→{GH}←café"),
            "Baſic QWxhZGRpbjpvcGVuc2VzYW1l".to_owned(),
            GH.to_owned(),
            format!("AUTHORIZATION: Token {GH}"),
            format!("url https://api.example/x?access_token={GH}&y=1"),
            "slack xoxb-1234567890-abcdefghij!".to_owned(),
            "aws AKIAIOSFODNN7EXAMPLE here".to_owned(),
        ] {
            let out = kept(&line);
            assert!(out.contains("[redacted]"), "{line} -> {out}");
            assert!(
                !out.contains("0123456789abcdefghij") && !out.contains("IOSFODNN"),
                "{out}"
            );
        }
    }

    #[test]
    fn settings_headers_urls_and_keys_are_redacted() {
        for (line, secret) in [
            (
                "> Authorization: Bearer abcdefOPAQUEbearer1234567890",
                "OPAQUE",
            ),
            ("Authorization: token abcdef0123456789", "abcdef0123"),
            ("Password=hunter2secret;Server=db", "hunter2"),
            ("INFO config: password=hunter2secret", "hunter2"),
            ("Set-Cookie: token=abcdef012345; Path=/", "abcdef0123"),
            ("env=DB_PASSWORD=hunter2secret", "hunter2"),
            ("{'password': 'hunter2secret'}", "hunter2"),
            (
                "host=db user=app password=hunter2secret dbname=app",
                "hunter2",
            ),
            (
                "//registry.npmjs.org/:_authToken=npmsecretvalue42",
                "npmsecret",
            ),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
                "wJalr",
            ),
            (r#"{"api_key": "s3cr3t-value-here"}"#, "s3cr3t"),
            ("postgres://app:pa/ss@word@db/app", "pa/ss"),
            (
                "v1.ghp_0123456789abcdefghijklmnopqrstuvwxyzAB~",
                "0123456789abcdef",
            ),
            (
                "| SecretAccessKey | wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY |",
                "wJalrXUtnFEMI",
            ),
            (
                "hook https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
                "XXXXXXXX",
            ),
            (r#"password=\"hunter2hunter2\""#, "hunter2"),
            ("curl -u admin:hunter2secret https://x", "hunter2"),
            ("mytool --password hunter2secret", "hunter2"),
            ("redis://:onlypassword123@cache:6379", "onlypassword"),
            (r#"{:password => "hunter2secret"}"#, "hunter2"),
            ("'db_password' => 'hunter2secret',", "hunter2"),
            (r#"$config["api_key"] => "s3cr3t-value-here""#, "s3cr3t"),
            ("apiToken := \"s3cr3t-value-here\"", "s3cr3t"),
            ("+ mysql -h db -u root -phunter2secret app", "hunter2"),
            (
                "mysqldump --single-transaction -u app -ps3cr3tvalue db",
                "s3cr3t",
            ),
            ("mariadb-dump -phunter2secret db", "hunter2"),
            ("sshpass -p hunter2secret ssh host", "hunter2"),
        ] {
            let out = kept(line);
            assert!(!out.contains(secret), "{line} -> {out}");
            assert!(out.contains("[redacted]"), "{line} -> {out}");
        }
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\nafter";
        assert_eq!(kept(key), "[redacted private key]\nafter");
        // A key whose end was cut off: everything after its start goes.
        assert_eq!(
            kept("x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow"),
            "x\n[redacted private key]"
        );
        // A body line on its own (the start line fell outside the tail) is key material.
        assert!(
            kept("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW")
                .contains("[redacted]")
        );
    }

    #[test]
    fn what_a_reader_needs_stays() {
        for line in [
            "commit 3f2a9c0e1b7d4a5f8e6c2b1a0d9e8f7a6b5c4d3e",
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "id 0190f3a2-7c41-7d2e-9a3b-5f6e7d8c9b0a done",
            "error: cannot open file.txt: permission denied",
            "see https://docs.example.com/path?page=2",
            "passwords checked: 3",
            "token count: 12",
            "Author: Jane Doe",
            "Tokens: 15234",
            "\"private\": false",
            "Session: 0190f3a2-7c41-7d2e-9a3b-5f6e7d8c9b0a",
            "RedactCredentialsForOutputLinesAndThings",
            "mkdir -p build/output && gcc -pthread main.c",
            "ssh -p 2222 host",
            "mysql -h db -P 3306 -u app",
            "opts = {:verbose => true}",
            "x := compute(y)",
        ] {
            assert_eq!(kept(line), line);
        }
    }
}
