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
use keys::{KeyKind, identifier, key_kind, redacts};
use patterns::*;

mod keys;
mod patterns;

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
        // Printed inside JSON, a value's quotes and backslashes are escaped.
        if value.contains(['"', '\\']) {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            if out.contains(escaped.as_str()) {
                out = out.replace(escaped.as_str(), REDACTED).into();
            }
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
    if out.contains(['?', '&']) && out.contains('=') {
        replace(&mut out, query_secret(), |c| format!("{}{REDACTED}", &c[1]));
    }
    // Every pass below that goes by a key's name needs a word that names a secret somewhere.
    let named = names_a_secret(&out);
    if named && out.contains('\'') {
        replace(&mut out, sql_password(), |c| format!("{}{REDACTED}", &c[1]));
    }
    if named && out.contains("set ") {
        replace(&mut out, fish_set(), |c| {
            if redacts(&c[2], &c[3]) {
                format!("{}{REDACTED}", &c[1])
            } else {
                c[0].to_owned()
            }
        });
    }
    if named {
        redact_markup(&mut out);
    }
    // `ſ` (long s) folds to `s` as the pattern's case-insensitive match sees it.
    if out.contains('ſ')
        || ["bearer", "basic", "authorization:"]
            .iter()
            .any(|word| contains_ignoring_case(&out, word))
    {
        replace(&mut out, authorization(), |c| {
            let value = &c[0][c[1].len()..];
            // `Basic authentication is disabled`: a word, not a credential.
            if value.bytes().all(|b| b.is_ascii_lowercase()) {
                c[0].to_owned()
            } else {
                format!("{}{REDACTED}", &c[1])
            }
        });
    }
    if out.contains(" -") || out.contains("--") {
        replace(&mut out, flag(), |c| {
            let (pre, value) = (&c["pre"], &c["value"]);
            // `docker run -u 1000:1000` is a user and a group, not a password.
            if pre.trim_start().starts_with("-u") && value.bytes().all(|b| b.is_ascii_digit()) {
                c[0].to_owned()
            } else {
                format!("{pre}{REDACTED}")
            }
        });
    }
    if named
        && (out.contains(": |") || out.contains(": >") || out.contains(":\n"))
        && let Some(changed) = redact_blocks(&out)
    {
        out = Cow::Owned(changed);
    }
    if named && (out.contains(": ") || out.contains('=')) {
        replace(&mut out, yaml_line(), |c| {
            let value = &c["value"];
            if value != REDACTED && redacts(&c["key"], value) {
                format!("{}{REDACTED}", &c["pre"])
            } else {
                c[0].to_owned()
            }
        });
    }
    if named && out.contains(',') {
        replace(&mut out, quoted_pair(), |c| {
            let (value, quote) = match (c.name("dq"), c.name("sq")) {
                (Some(v), _) => (v.as_str(), "\""),
                (_, Some(v)) => (v.as_str(), "'"),
                _ => return c[0].to_owned(),
            };
            if redacts(&c["key"], value) {
                format!("{}{quote}{REDACTED}{quote}", &c[1])
            } else {
                c[0].to_owned()
            }
        });
    }
    if named && out.contains(['=', ':']) {
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

/// The passes over markup and headers: XML elements and `key="…" value="…"` attributes named
/// for a secret, every value of a `Cookie:` header (the first of a `Set-Cookie:`), and
/// `.netrc` lines.
fn redact_markup(out: &mut Cow<'_, str>) {
    if out.contains("</") {
        replace(out, xml_element(), |c| {
            let inner = c.get(2).or(c.get(3)).map_or("", |m| m.as_str());
            if c[1] == c[4] && redacts(&c[1], inner) {
                let open_tag = &c[0][..c[0].find('>').map_or(0, |at| at + 1)];
                format!("{open_tag}{REDACTED}</{}>", &c[4])
            } else {
                c[0].to_owned()
            }
        });
    }
    if out.contains("value") {
        for pattern in [xml_name_value(), yaml_name_value()] {
            replace(out, pattern, |c| {
                if redacts(&c[2], &c[3]) {
                    format!("{}{REDACTED}", &c[1])
                } else {
                    c[0].to_owned()
                }
            });
        }
    }
    if contains_ignoring_case(out, "cookie") {
        replace(out, cookie_header(), |c| {
            let every = c["which"].eq_ignore_ascii_case("cookie");
            let pairs = if every {
                cookie_pair().replace_all(&c["pairs"], format!("${{1}}{REDACTED}"))
            } else {
                cookie_pair().replace(&c["pairs"], format!("${{1}}{REDACTED}"))
            };
            format!("{}{pairs}", &c["pre"])
        });
    }
    if out.contains("machine") || out.contains("default") {
        replace(out, netrc(), |c| format!("{}{REDACTED}", &c[1]));
    }
}

/// Whether `text` holds, in any case, a word that every key naming a secret holds (see
/// [`keys::key_kind`]): most output holds none, and skips the passes that go by keys.
fn names_a_secret(text: &str) -> bool {
    [
        "pass",
        "pw",
        "secret",
        "token",
        "key",
        "auth",
        "cookie",
        "credential",
        "mnemonic",
        "phrase",
    ]
    .iter()
    .any(|word| contains_ignoring_case(text, word))
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
        if token
            || webhook
            || (key_material(run) && !public_digest_or_symbol(run) && !identifier(run))
        {
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
        let (open, value, close) = if let Some(v) = c.name("tq") {
            ("\"\"\"", v.as_str(), "\"\"\"")
        } else if let Some(v) = c.name("dq") {
            ("\"", v.as_str(), "\"")
        } else if let (Some(wrap), Some(v)) = (c.name("wrap"), c.name("wq")) {
            // `Some("…")`, `SecretString("…")`: the quoted text inside.
            return if !join.ends_with('[') && redacts(key, v.as_str()) {
                format!("{key}{join}{}\"{REDACTED}\"", wrap.as_str())
            } else {
                c[0].to_owned()
            };
        } else if let Some(v) = c.name("sq") {
            ("'", v.as_str(), "'")
        } else {
            (c.name("open").map_or("", |o| o.as_str()), &c["bare"], "")
        };
        // Redacted by an earlier pass: `[redacted]` read as a list holding `redacted]`.
        let done = value == REDACTED || (join.ends_with('[') && value == &REDACTED[1..]);
        if !done && redacts(key, value) {
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
        // Only under a key that surely names a secret: `auth:` or `key:` heads a section.
        if block && !key.is_empty() && key_kind(key) == KeyKind::Strong {
            inside = Some(indent(body));
        }
    }
    changed.then_some(out)
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

/// Whether a base64-looking run is something public a reader needs: a subresource integrity
/// digest (`sha512-…`, in lock files) or a mangled Rust or C++ symbol (`_ZN…`, `_R…`, in
/// backtraces).
fn public_digest_or_symbol(run: &str) -> bool {
    ["sha256-", "sha384-", "sha512-", "_ZN", "_R", "__ZN"]
        .iter()
        .any(|prefix| run.starts_with(prefix))
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
