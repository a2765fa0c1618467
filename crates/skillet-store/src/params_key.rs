//! The key that stands in for parameter values in the history.
//!
//! With `[history] store_params` off (the default) a run's parameters are kept only as a hash,
//! so runs with equal parameters can be told apart from others without the values being kept.
//! A plain hash would not hide them: a short secret (a PIN, a word from a list) is found again
//! by hashing guesses, from the store or from `skillet history` output pasted into an issue.
//! So the hash is keyed (HMAC-SHA256) with 32 random bytes kept in a file of their own beside
//! the store, readable by the user alone; neither the database nor what is printed from it
//! tells the key.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The key file's name, in skillet's data directory.
pub const PARAMS_KEY_FILE: &str = "params.key";

const KEY_BYTES: usize = 32;

/// The key parameter hashes are made with (see the module's documentation).
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let key = skillet_store::ParamsKey::in_dir(dir.path())?;
/// let a = serde_json::json!({"b": 1, "a": [true, {"y": 2, "x": 1}]});
/// let b = serde_json::json!({"a": [true, {"x": 1, "y": 2}], "b": 1});
/// assert_eq!(key.hash(&a), key.hash(&b));
/// assert!(key.hash(&a).starts_with("hmac-sha256:"));
/// // The same file, the same key.
/// assert_eq!(skillet_store::ParamsKey::in_dir(dir.path())?.hash(&a), key.hash(&a));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParamsKey([u8; KEY_BYTES]);

/// Why the key could not be read or made.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} the parameter-hash key {}: {source}", path.display())]
pub struct ParamsKeyError {
    action: &'static str,
    path: PathBuf,
    source: std::io::Error,
}

impl ParamsKey {
    /// The key in `dir`'s [`PARAMS_KEY_FILE`], made there (mode 0600) when there is none.
    /// Processes making it at once agree on one: each writes its own and links it into place,
    /// and the loser reads the winner's.
    pub fn in_dir(dir: &Path) -> Result<ParamsKey, ParamsKeyError> {
        let path = dir.join(PARAMS_KEY_FILE);
        let fail = |action, source| ParamsKeyError {
            action,
            path: path.clone(),
            source,
        };
        match read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => return other.map(ParamsKey).map_err(|e| fail("read", e)),
        }
        std::fs::create_dir_all(dir).map_err(|e| fail("make the directory of", e))?;
        // A name no other thread or process writes: this process's id and a count in it.
        static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let made = dir.join(format!(
            ".{PARAMS_KEY_FILE}.{}.{}",
            std::process::id(),
            MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        if let Err(e) = write_new(&made) {
            let _ = std::fs::remove_file(&made);
            return Err(fail("write", e));
        }
        let linked = std::fs::hard_link(&made, &path);
        let _ = std::fs::remove_file(&made);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail("write", e)),
        }
        read(&path).map(ParamsKey).map_err(|e| fail("read", e))
    }

    /// `params` hashed with this key: HMAC-SHA256 of their canonical JSON (keys sorted at
    /// every level), so equal values hash equally whatever order they were given in.
    pub fn hash(&self, params: &serde_json::Value) -> String {
        // Any key length is accepted by HMAC: this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(canonical(params).as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("hmac-sha256:{hex}")
    }
}

impl std::fmt::Debug for ParamsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParamsKey(…)")
    }
}

fn read(path: &Path) -> std::io::Result<[u8; KEY_BYTES]> {
    let mut key = [0u8; KEY_BYTES];
    let mut file = std::fs::File::open(path)?;
    file.read_exact(&mut key).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            std::io::Error::other(format!(
                "it is shorter than {KEY_BYTES} bytes; delete it and a new key is made \
                 (hashes kept before are then not comparable with new ones)"
            ))
        } else {
            e
        }
    })?;
    Ok(key)
}

fn write_new(path: &Path) -> std::io::Result<()> {
    let mut key = [0u8; KEY_BYTES];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(&key)?;
    // Linked into place only once whole on disk: a crash never leaves a short key behind.
    file.sync_all()
}

fn canonical(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::Value::String((*k).clone()),
                        canonical(&map[*k])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn the_key_is_the_users_alone_and_differs_between_stores() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let params = serde_json::json!({"pin": "1234"});
        let ka = ParamsKey::in_dir(a.path()).unwrap();
        let kb = ParamsKey::in_dir(b.path()).unwrap();
        // Not a plain hash anyone can repeat, and not the same in two homes.
        assert_ne!(ka.hash(&params), kb.hash(&params));
        let mode = std::fs::metadata(a.path().join(PARAMS_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(a.path()).unwrap().count(), 1);
    }

    #[test]
    fn processes_making_the_key_at_once_agree_on_one() {
        let dir = tempfile::tempdir().unwrap();
        let params = serde_json::json!({"x": [1, 2]});
        let hashes: Vec<String> = std::thread::scope(|s| {
            let made: Vec<_> = (0..8)
                .map(|_| s.spawn(|| ParamsKey::in_dir(dir.path()).unwrap().hash(&params)))
                .collect();
            made.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
    }

    #[test]
    fn a_short_key_file_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PARAMS_KEY_FILE), b"short").unwrap();
        let e = ParamsKey::in_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("delete it"), "{e}");
    }
}
