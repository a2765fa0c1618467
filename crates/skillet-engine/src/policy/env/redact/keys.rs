//! Which keys name a secret, and which values are plainly not one.

/// How surely a key names a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyKind {
    /// Not at all (`Author`, `Tokens`, `secretName`, `password_file`).
    Not,
    /// Only with a value that looks like one (`auth`, `pass`, `SESSION_KEY`, `Authorization`):
    /// `auth: oidc`, `pass: 12` and `key: password` stay.
    Weak,
    /// Whatever the value (`password`, `DB_PASSWORD_PROD`, `apiKey`, `_authToken`).
    Strong,
}

/// How surely `key` names a secret: a word of it that always does (`DB_PASSWORD_PROD`,
/// `password2`, `SECRET_VALUE`) or its end (`apiKey`, `_authToken`, `client-secret`,
/// `dbpass`) makes it strong; a short word that does only on its own, last (`DB_PASS`, `dbPw`,
/// `auth`, `SESSION_KEY`), weak. A key that describes a secret rather than holding one
/// (`secretName`, `password_file`, `tokenType`) and a source file (`password.rs:12`) do not.
/// Narrower than the environment's name test, which also takes every variable of some
/// services: in output, `Author:` or `Tokens: 12` are not secrets.
pub(super) fn key_kind(key: &str) -> KeyKind {
    // Words that name a secret wherever they stand in a key.
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "passcode",
        "secret",
        "mnemonic",
        "credential",
        "credentials",
    ];
    // Short words that name a secret only as a word of their own, last.
    const LAST_WORDS: &[&str] = &[
        "pass",
        "pw",
        "auth",
        "cookie",
        "key",
        "sk",
        "salt",
        "authorization",
    ];
    // Last words of a key that tell about a secret, not hold it.
    const ABOUT: &[&str] = &[
        "name", "names", "ref", "refs", "file", "files", "path", "dir", "id", "ids", "arn", "type",
        "kind", "provider", "length", "len", "policy", "count", "size", "version", "hint", "label",
        "prompt", "field", "env", "var", "mode", "store", "manager", "backend", "source", "format",
        "enabled", "required", "rotation", "expiry", "expires", "ttl", "at", "min", "max", "reset",
        "strength", "changed", "url", "uri", "endpoint", "header",
    ];
    const SOURCE_FILES: &[&str] = &[
        "rs", "py", "go", "rb", "js", "ts", "tsx", "jsx", "java", "kt", "c", "h", "cc", "cpp",
        "hpp", "cs", "php", "swift", "scala", "ex", "exs", "erl", "lua", "sh", "pl", "md",
    ];
    const ENDINGS: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "passcode",
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
        "jwtkey",
        "hmackey",
        "dbpass",
        "seedphrase",
    ];
    if key
        .rsplit_once('.')
        .is_some_and(|(_, ext)| SOURCE_FILES.contains(&ext.to_ascii_lowercase().as_str()))
    {
        return KeyKind::Not;
    }
    let words = words(key);
    if words.last().is_some_and(|w| ABOUT.contains(&w.as_str())) {
        return KeyKind::Not;
    }
    let squashed = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let squashed = squashed.trim_end_matches(|c: char| c.is_ascii_digit());
    if ENDINGS.iter().any(|e| squashed.ends_with(e))
        || words.iter().any(|w| WORDS.contains(&w.as_str()))
    {
        KeyKind::Strong
    } else if words
        .last()
        .is_some_and(|w| LAST_WORDS.contains(&w.as_str()))
        || words.iter().any(|w| w == "key" || w == "salt")
    {
        KeyKind::Weak
    } else {
        KeyKind::Not
    }
}

/// Whether `value` looks like a secret on its own, for a [`KeyKind::Weak`] key: one word of
/// eight characters or more with a digit, or both cases, or a symbol (`Hunter2Secret`), not a
/// word (`oidc`, `enabled`, `password`) or a name a program chose (`TestLoginWithOAuth2Token`).
pub(super) fn looks_random(value: &str) -> bool {
    let v = value.trim();
    v.len() >= 8
        && !v.contains(char::is_whitespace)
        && (v.bytes().any(|b| b.is_ascii_digit())
            || (v.bytes().any(|b| b.is_ascii_uppercase())
                && v.bytes().any(|b| b.is_ascii_lowercase()))
            || v.bytes().any(|b| b.is_ascii_punctuation()))
        && !identifier(v)
}

/// Whether `value`, set under `key`, is to be redacted.
pub(super) fn redacts(key: &str, value: &str) -> bool {
    match key_kind(key) {
        KeyKind::Not => false,
        KeyKind::Weak => looks_random(value) && !plainly_not_secret(key, value),
        KeyKind::Strong => value.trim().len() >= 4 && !plainly_not_secret(key, value),
    }
}

/// The words of a key, lower case, without trailing digits: split at every character but a
/// letter or digit, and where a capital follows a small letter (`dbPass2` is `db`, `pass`).
fn words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_small = false;
    for c in key.chars() {
        let boundary = !c.is_ascii_alphanumeric() || (c.is_ascii_uppercase() && previous_small);
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        }
        previous_small = c.is_ascii_lowercase();
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
        .into_iter()
        .map(|w| w.trim_end_matches(|c: char| c.is_ascii_digit()).to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether `value`, set under `key`, is plainly no secret: a switch or an empty word
/// (`secret: false`, `auth: none`), a mask already there (`****`), a placeholder or a reference
/// (`${DB_PASSWORD}`, `<your-token-here>`, `$TOKEN`, `config.password`), code
/// (`config.password.clone()`, `os.environ['API_KEY']`), or the shell's working directory
/// (`PWD=/home/me`, which `env` prints).
pub(super) fn plainly_not_secret(key: &str, value: &str) -> bool {
    const PLAIN: &[&str] = &[
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "none",
        "null",
        "nil",
        "undefined",
        "unset",
        "empty",
        "required",
        "optional",
        "enabled",
        "disabled",
    ];
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let dotted_path = value.contains('.')
        && value.split('.').all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    PLAIN.contains(&lower.as_str())
        || value.bytes().all(|b| b == b'*' || b == b'x' || b == b'X')
        || value.starts_with(['$', '{', '<', '%'])
        || value.contains(['(', ')', '[', ']'])
        || dotted_path
        || (matches!(key.to_ascii_lowercase().as_str(), "pwd" | "oldpwd") && value.starts_with('/'))
}

/// Whether a run made of words is a name a program chose (a test, a function): three lowercase
/// words of three letters or more between `_` or `-` (`test_parse_rfc3339_with_UTC_offset`),
/// or four capitalised words (`TestHandleOAuth2CallbackWithPKCE`). Random key material has
/// such words by chance far more rarely.
pub(super) fn identifier(run: &str) -> bool {
    let snake = run
        .split(['_', '-', '.', ':', '/'])
        .filter(|w| w.len() >= 3 && w.bytes().all(|b| b.is_ascii_lowercase()))
        .count();
    let bytes = run.as_bytes();
    let camel = (0..bytes.len().saturating_sub(3))
        .filter(|&i| {
            bytes[i].is_ascii_uppercase() && bytes[i + 1..i + 4].iter().all(u8::is_ascii_lowercase)
        })
        .count();
    snake >= 3 || camel >= 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_word_by_word() {
        for key in [
            "DB_PASSWORD_PROD",
            "password2",
            "password.prod",
            "SECRET_VALUE",
            "DBPASS",
            "JWT_KEY",
            "HMAC_KEY",
            "passcode",
            "WALLET_MNEMONIC",
            "dbPass2",
            "DB_PW",
            "auth",
            "apiKey",
            "_authToken",
            "client-secret",
            "$env:DB_PASSWORD",
        ] {
            assert_ne!(key_kind(key), KeyKind::Not, "{key}");
        }
        for key in [
            "bypass",
            "compass",
            "Author",
            "Tokens",
            "token_count_total",
            "private",
            "keyboard",
        ] {
            assert_eq!(key_kind(key), KeyKind::Not, "{key}");
        }
    }
}
