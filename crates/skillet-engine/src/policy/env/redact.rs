//! Credentials taken out of text that is kept (the stored tails of a run's output): what a
//! skill prints must not land in the store, whatever form the secret takes in the text.
//!
//! The checks are those of the environment tests turned to free text: private key blocks,
//! the user's own credentials by value, passwords (and token user names) in URLs,
//! authorization headers, settings whose key names a secret (`password=…`, `"api_key": "…"`,
//! `_authToken=…`, `<password>…</password>`; a quoted value whole), tokens in a
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
        replace(&mut out, url_token_user(), |c| {
            format!("{}{REDACTED}@", &c[1])
        });
    }
    if out.contains("</") {
        replace(&mut out, xml_element(), |c| {
            if c[1] == c[3] && secret_key(&c[1]) && c[2].trim().len() >= 4 {
                format!("<{}>{REDACTED}</{}>", &c[1], &c[3])
            } else {
                c[0].to_owned()
            }
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
    if (out.contains(": |") || out.contains(": >") || out.contains(":\n"))
        && let Some(changed) = redact_blocks(&out)
    {
        out = Cow::Owned(changed);
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
        let (key, join) = (&c["key"], &c["join"]);
        // A quoted value is the whole of it, blanks and escaped quotes included.
        let (open, value, close) = if let Some(v) = c.name("dq") {
            ("\"", v.as_str(), "\"")
        } else if let Some(v) = c.name("sq") {
            ("'", v.as_str(), "'")
        } else {
            (c.name("open").map_or("", |o| o.as_str()), &c["bare"], "")
        };
        if secret_key(key) && value.trim().len() >= 4 && value != REDACTED {
            format!("{key}{join}{open}{REDACTED}{close}")
        } else if value.contains(['=', ':']) {
            format!("{key}{join}{open}{}{close}", redact_settings(value))
        } else {
            c[0].to_owned()
        }
    });
    out
}

/// `text` with the lines of every YAML block whose key names a secret redacted: a block
/// scalar (`password: |` or `>`, its value on the lines below) or a key with nothing after it
/// (`password:`, its value the indented lines below). The lines indented deeper than the key
/// are the value; `None` when there is none.
fn redact_blocks(text: &str) -> Option<String> {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    // The indentation of the secret key whose block the lines now belong to.
    let mut inside: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if let Some(key_indent) = inside {
            if body.trim().is_empty() || indent(body) > key_indent {
                if !body.trim().is_empty() {
                    out.push_str(&body[..indent(body)]);
                    out.push_str(REDACTED);
                    out.push_str(&line[body.len()..]);
                    changed = true;
                } else {
                    out.push_str(line);
                }
                continue;
            }
            inside = None;
        }
        out.push_str(line);
        let trimmed = body.trim();
        let Some((key, after)) = trimmed.split_once(':') else {
            continue;
        };
        let key = key.trim_matches(['"', '\'', '-', ' ']);
        let after = after.trim();
        let block = after.is_empty()
            || (after.starts_with(['|', '>'])
                && after[1..]
                    .trim_start_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit())
                    .trim()
                    .is_empty());
        if block && !key.is_empty() && secret_key(key) {
            inside = Some(indent(body));
        }
    }
    changed.then_some(out)
}

/// Whether a setting's key names a secret: its last word (`db_password`, `apiKey`,
/// `_authToken`, `client-secret`) is one that does. Narrower than the environment's name test,
/// which also takes every variable of some services: in output, `Author:` or `Tokens: 12` are
/// not secrets.
fn secret_key(key: &str) -> bool {
    // Short words that name a secret only as a word of their own (`DB_PASS`, `dbPw`, `auth`),
    // not as the end of another (`bypass`, `compass`).
    const LAST_WORDS: &[&str] = &["pass", "pw", "auth", "cookie"];
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
        "keybase",
        "signingkey",
        "encryptionkey",
        "masterkey",
    ];
    let squashed = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    ENDINGS.iter().any(|e| squashed.ends_with(e))
        || LAST_WORDS.contains(&last_word(key).to_ascii_lowercase().as_str())
}

/// The last word of a key: after its last `_`, `-`, `.` or blank, or its last capital after
/// a small letter (`dbPass`).
fn last_word(key: &str) -> &str {
    let key = key.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    let tail = key
        .rfind(|c: char| !c.is_ascii_alphanumeric())
        .map_or(key, |at| &key[at + 1..]);
    let bytes = tail.as_bytes();
    let camel = (1..bytes.len())
        .rev()
        .find(|&i| bytes[i].is_ascii_uppercase() && bytes[i - 1].is_ascii_lowercase());
    camel.map_or(tail, |at| &tail[at..])
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

/// `scheme://TOKEN@…`: a user name long enough to be a token (GitHub's
/// `https://ghp_…@github.com`, a webhook's key), where a person's name would be short.
fn url_token_user() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    compiled(&P, r"([A-Za-z][A-Za-z0-9+.-]*://)[^\s:/@]{16,}@")
}

/// `<password>X</password>`: an element whose name names a secret (checked by the caller, as
/// the names must match).
fn xml_element() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    compiled(
        &P,
        r"<([A-Za-z_][A-Za-z0-9_.-]*)>([^<\n]+)</([A-Za-z_][A-Za-z0-9_.-]*)>",
    )
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
        r#"(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)(?P<join>\\?["']?\]?\s*(?:=>|:=|[=:])\s*)(?:"(?P<dq>(?:[^"\\\n]|\\.)*)"|'(?P<sq>[^'\n]*)'|(?P<open>\\?["']?)(?P<bare>[^\s"'\\;,&]+))"#,
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
mod tests;
