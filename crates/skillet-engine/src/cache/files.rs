//! Content digests of the files a cache key is made of, through the store's digest index: a
//! file whose size, modification and change times, device and inode are those on record is not
//! read again. The change time is set by the kernel on every write and cannot be set back by a
//! user, so an edit that restores a file's size and modification time still counts as an edit.

use std::collections::HashMap;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use sha2::{Digest as _, Sha256};
use skillet_store::{FileDigest, Store};

/// How old (in nanoseconds) a file's last change must be before its stamp is trusted to stand
/// for its content: a write within the same clock tick as the hash would otherwise keep the
/// stamp and go unseen (git's "racy clean" problem).
const SETTLED_NS: i64 = 2_000_000_000;

/// Digests of many files, looked up in the index in one pass and recorded in one transaction.
pub(crate) struct Digester<'s> {
    store: Option<&'s dyn Store>,
    known: HashMap<String, FileDigest>,
    fresh: Vec<FileDigest>,
}

impl<'s> Digester<'s> {
    /// A digester that knows what the index holds for `paths` (absolute).
    pub(crate) fn new(store: Option<&'s dyn Store>, paths: &[String]) -> Self {
        let known = store
            .and_then(|s| s.file_digests(paths).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d.path.clone(), d))
            .collect();
        Digester {
            store,
            known,
            fresh: Vec::new(),
        }
    }

    /// `sha256:` of the regular file at `path` (absolute), or a word saying what is there
    /// instead (`missing`, `not-a-file`, `unreadable`): a key changes when any of those change.
    pub(crate) fn digest(&mut self, path: &str) -> String {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return "missing".into(),
            Err(_) => return "unreadable".into(),
        };
        if !meta.is_file() {
            return "not-a-file".into();
        }
        let stamp = stamp_of(path, &meta);
        if let Some(known) = self.known.get(path)
            && same_stamp(known, &stamp)
        {
            return known.digest.clone();
        }
        let Some(digest) = read_digest(Path::new(path), &stamp) else {
            return "unreadable".into();
        };
        let settled = now_ns().saturating_sub(stamp.ctime_ns.max(stamp.mtime_ns)) > SETTLED_NS;
        if settled {
            self.fresh.push(FileDigest {
                digest: digest.clone(),
                ..stamp
            });
        }
        digest
    }

    /// Records the digests taken (a failure only costs a re-read next time).
    pub(crate) fn save(self) {
        if let Some(store) = self.store
            && !self.fresh.is_empty()
        {
            let _ = store.save_file_digests(&self.fresh);
        }
    }
}

fn stamp_of(path: &str, meta: &std::fs::Metadata) -> FileDigest {
    let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
    FileDigest {
        path: path.to_owned(),
        device: meta.dev() as i64,
        inode: meta.ino() as i64,
        size: i64::try_from(meta.size()).unwrap_or(i64::MAX),
        mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
        ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        digest: String::new(),
    }
}

fn same_stamp(a: &FileDigest, b: &FileDigest) -> bool {
    (a.device, a.inode, a.size, a.mtime_ns, a.ctime_ns)
        == (b.device, b.inode, b.size, b.mtime_ns, b.ctime_ns)
}

/// Hashes the file, opened without blocking (a FIFO swapped in is not waited on); `None` when
/// it changed while it was read, or is no longer the file that was looked at.
fn read_digest(path: &Path, stamp: &FileDigest) -> Option<String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::File::options()
        .read(true)
        .custom_flags(libc_nonblock())
        .open(path)
        .ok()?;
    let before = file.metadata().ok()?;
    if !before.is_file() || before.ino() as i64 != stamp.inode {
        return None;
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let after = file.metadata().ok()?;
    if !same_stamp(
        &stamp_of("", &after),
        &FileDigest {
            path: String::new(),
            ..stamp.clone()
        },
    ) {
        return None;
    }
    Some(hex_digest(hasher))
}

fn libc_nonblock() -> i32 {
    rustix::fs::OFlags::NONBLOCK.bits() as i32
}

/// `sha256:` and the hex of what `hasher` saw.
pub(crate) fn hex_digest(hasher: Sha256) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("sha256:");
    for b in hasher.finalize() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
