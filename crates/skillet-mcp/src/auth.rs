//! Who may use the HTTP transport: the bearer token and the browser origins.
//!
//! Loopback is no boundary between the users of one machine, so HTTP is served with a token
//! unless the user opts out; a token skillet makes up is written to a file only its user can
//! read. Origins are compared whole (scheme, host and port), so allowing one local web app does
//! not allow every other port on the machine.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// The shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// Why a token could not be made or kept.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The system's random source could not be read.
    #[error("cannot read /dev/urandom to make an auth token: {0}; pass --auth-token TOKEN")]
    Random(std::io::Error),
    /// The token file could not be written.
    #[error(
        "cannot write the auth token to {path}: {source}; pass --auth-token TOKEN (or set SKILLET_MCP_TOKEN) instead"
    )]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A new token: 32 random bytes as 64 hex digits.
pub fn generate_token() -> Result<String, TokenError> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(TokenError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `token` to `path`, readable by this user only. The file is created with mode 0600
/// under a fresh name (never opening anything already there, so never following a planted
/// link) and then renamed over `path`, so no reader ever sees it with other permissions or
/// half written. `path`'s directory must exist.
pub fn write_token_file(path: &Path, token: &str) -> Result<(), TokenError> {
    let err = |source| TokenError::File {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mcp-token".into());
    let temp = dir.join(format!(".{name}.{}", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .map_err(err)?;
    let written = file
        .write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(err(e));
    }
    Ok(())
}

/// The token of an `Authorization` header value: the `Bearer` scheme in any case
/// (RFC 9110 §11.1), then the token with surrounding blanks removed.
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim_matches([' ', '\t']);
    let (scheme, token) = value.split_once([' ', '\t'])?;
    let token = token.trim_matches([' ', '\t']);
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The expected token, kept as a digest: comparing digests of equal length in constant time
/// says nothing, through timing, about how much of a guess was right.
#[derive(Clone)]
pub(crate) struct Expected([u8; 32]);

impl Expected {
    pub(crate) fn new(token: &str) -> Expected {
        Expected(Sha256::digest(token.as_bytes()).into())
    }

    pub(crate) fn matches(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given
            .iter()
            .zip(self.0.iter())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

/// A browser origin: scheme, host and port, the port filled in from the scheme when left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    /// `None`: any port, only when the user wrote `:*`.
    port: Option<u16>,
}

impl Origin {
    /// Parses an `Origin` header or an `--allow-origin` value (`scheme://host[:port]`, or
    /// `scheme://host:*` for any port). Paths, user info and other schemes are refused.
    pub(crate) fn parse(text: &str, wildcard: bool) -> Option<Origin> {
        let (scheme, rest) = text.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        if rest.is_empty() || rest.contains(['/', '@', '?', '#']) {
            return None;
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6.split_once(']')?;
            (format!("[{}]", addr.to_ascii_lowercase()), after)
        } else {
            let at = rest.find(':').unwrap_or(rest.len());
            (rest[..at].to_ascii_lowercase(), &rest[at..])
        };
        if host.is_empty() || host == "[]" {
            return None;
        }
        let port = match port {
            "" => Some(default),
            ":*" if wildcard => None,
            p => Some(p.strip_prefix(':')?.parse::<u16>().ok()?),
        };
        Some(Origin { scheme, host, port })
    }

    /// Whether `self`, an allowance, covers the origin `other`.
    pub(crate) fn covers(&self, other: &Origin) -> bool {
        self.scheme == other.scheme
            && self.host == other.host
            && (self.port.is_none() || self.port == other.port)
    }

    /// Whether `self` is this server's own origin, given the request's `Host` header: the
    /// same host (any of the loopback names counting as one) and the same port. A page there
    /// can only be this server's; rmcp has already refused a `Host` that is not loopback when
    /// serving on loopback, which is what defeats DNS rebinding.
    pub(crate) fn is_own(&self, host: &str) -> bool {
        let Some(host) = Origin::parse(&format!("{}://{host}", self.scheme), false) else {
            return false;
        };
        let loopback = |h: &str| matches!(h, "localhost" | "127.0.0.1" | "[::1]");
        let same_host = host.host == self.host || (loopback(&host.host) && loopback(&self.host));
        same_host && host.port == self.port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        for (header, token) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("BeArEr\tabc", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearerabc", None),
            ("abc", None),
        ] {
            assert_eq!(bearer_token(header), token, "{header:?}");
        }
    }

    #[test]
    fn tokens_match_only_exactly() {
        let expected = Expected::new("0123456789abcdef");
        assert!(expected.matches("0123456789abcdef"));
        for wrong in [
            "0123456789abcdeF",
            "0123456789abcde",
            "0123456789abcdef0",
            "",
        ] {
            assert!(!expected.matches(wrong), "{wrong}");
        }
    }

    #[test]
    fn origins_keep_their_port() {
        let allowed = Origin::parse("http://localhost:8080", true).unwrap();
        let same = Origin::parse("http://LOCALHOST:8080", false).unwrap();
        let other = Origin::parse("http://localhost:9999", false).unwrap();
        let default_port = Origin::parse("http://localhost", false).unwrap();
        assert!(allowed.covers(&same));
        assert!(!allowed.covers(&other));
        assert!(!allowed.covers(&default_port));
        let https = Origin::parse("https://app.example.com", true).unwrap();
        assert!(https.covers(&Origin::parse("https://app.example.com:443", false).unwrap()));
        assert!(!https.covers(&Origin::parse("https://app.example.com:8443", false).unwrap()));
        assert!(!https.covers(&Origin::parse("http://app.example.com:443", false).unwrap()));
        let any = Origin::parse("http://localhost:*", true).unwrap();
        assert!(any.covers(&other));
        assert!(Origin::parse("http://localhost:*", false).is_none());
        let v6 = Origin::parse("http://[::1]:8750", false).unwrap();
        assert!(v6.is_own("[::1]:8750"));
        assert!(v6.is_own("localhost:8750"));
        assert!(!v6.is_own("[::1]:8751"));
        assert!(!v6.is_own("evil.example:8750"));
        let own = Origin::parse("http://localhost:9999", false).unwrap();
        assert!(!own.is_own("127.0.0.1:8750"));
        assert!(!own.is_own("localhost"));
        for bad in [
            "localhost:8080",
            "ftp://x",
            "http://",
            "http://a/b",
            "http://u@a",
            "http://a:99999",
            "http://a:x",
            "null",
        ] {
            assert!(Origin::parse(bad, true).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_token_file_is_private_from_its_creation() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("skillet.mcp-token");
        let token = generate_token().unwrap();
        assert_eq!(token.len(), 64);
        assert_ne!(token, generate_token().unwrap());
        write_token_file(&path, &token).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{token}\n")
        );
        // A link planted where the file goes is replaced, not followed.
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "keep").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        write_token_file(&path, &token).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
    }
}
