//! Which keys name a secret, and which values are plainly not one.

/// Whether a setting's key names a secret: a word of it is one that always does
/// (`DB_PASSWORD_PROD`, `password2`, `SECRET_VALUE`), its end is (`apiKey`, `_authToken`,
/// `client-secret`, `dbpass`), or its last word is a short one that does only on its own
/// (`DB_PASS`, `dbPw`, `auth`; not `bypass`). Narrower than the environment's name test, which
/// also takes every variable of some services: in output, `Author:` or `Tokens: 12` are not
/// secrets.
pub(super) fn secret_key(key: &str) -> bool {
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
    const LAST_WORDS: &[&str] = &["pass", "pw", "auth", "cookie"];
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
    let squashed = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let squashed = squashed.trim_end_matches(|c: char| c.is_ascii_digit());
    let words = words(key);
    ENDINGS.iter().any(|e| squashed.ends_with(e))
        || words.iter().any(|w| WORDS.contains(&w.as_str()))
        || words
            .last()
            .is_some_and(|w| LAST_WORDS.contains(&w.as_str()))
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
/// (`secret: false`, `auth: none`), a mask already there (`****`), or the shell's working
/// directory (`PWD=/home/me`, which `env` prints).
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
    PLAIN.contains(&lower.as_str())
        || value.bytes().all(|b| b == b'*' || b == b'x' || b == b'X')
        || (matches!(key.to_ascii_lowercase().as_str(), "pwd" | "oldpwd") && value.starts_with('/'))
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
            assert!(secret_key(key), "{key}");
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
            assert!(!secret_key(key), "{key}");
        }
    }
}
