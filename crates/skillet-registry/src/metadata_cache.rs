//! The metadata cache: what a listing learnt of each skill file, kept between commands so that
//! `skillet list` reads only the files that changed.
//!
//! A record is reused only for the very file it was made from: the same path as discovery
//! found it, the same resolved path (links and `..` resolved), the same directory it must be
//! read beneath, and the same device, inode, size, modification and change time. Nobody but
//! the kernel sets a change time, so an edit that restores the size and modification time, or
//! a file replaced by another, is read again. One kind of write is not seen: through a shared
//! `mmap`, a page already dirty takes further writes without any time changing until it is
//! written back, so a listing can show such a file's old summary for a while (this is why the
//! daemon's [`crate::SpecMemo`], which feeds runs, compares text instead). Only summaries of
//! valid files without a diagnostic are kept, and only of files whose parse reads nothing but
//! themselves (never a v1 file with `file://` references, never a package's skill); a file
//! changed in the last [`SETTLE`] is not kept either, as its times may not yet show a write in
//! the same tick.
//!
//! The cache is a convenience, never an authority: it is one file per set of skill
//! directories under `$XDG_CACHE_HOME/skillet/`, written whole through a temporary file and a
//! rename; a file that is not the user's, is writable by others, cannot be parsed, or was
//! written by another build of skillet is ignored and rewritten. What it holds only ever
//! feeds listings: running or describing a skill always reads its file.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use skillet_spec::SkillFormat;
use skillet_spec::files::FileIdentity;

use crate::discover::Candidate;
use crate::layout::{Environment, SkillDir};
use crate::registry::load::Loaded;
use crate::summary::SkillSummary;

/// A file changed more recently than this is not cached: a second write in the same clock
/// tick may leave its times as they were.
const SETTLE: Duration = Duration::from_secs(2);

/// The largest cache file read; a bigger one is not skillet's.
const MAX_CACHE_BYTES: u64 = 64 << 20;

/// Cache files kept, one per set of skill directories (a workspace, roughly); the least
/// recently written go first.
const MAX_CACHE_FILES: usize = 64;

/// What marks a cache file as this module's, in this layout.
const TAG: &str = "skillet metadata cache 2";

/// The formats a record may name. A format not here (a newer one) is never cached.
const FORMATS: &[SkillFormat] = &[
    SkillFormat::Canonical,
    SkillFormat::QRoadmap,
    SkillFormat::QFlat,
    SkillFormat::AgentSkill,
    SkillFormat::QImplementation,
    SkillFormat::QWizard,
];

/// skillet's cache directory: `$XDG_CACHE_HOME/skillet`, or `~/.cache/skillet`. A grant
/// never covers it (see the engine's own directories).
pub fn cache_dir(env: &Environment) -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env.home.as_ref().map(|h| h.join(".cache")))
        .map(|c| c.join("skillet"))
}

/// Where the metadata cache lives and which build of skillet may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataCacheSettings {
    /// The directory of cache files.
    pub dir: PathBuf,
    /// What identifies the build: a record made by another build (other validation rules) is
    /// never used.
    pub build: String,
}

impl MetadataCacheSettings {
    /// The cache of this process: [`cache_dir`], for this version of skillet and this very
    /// executable (a rebuilt binary of the same version does not trust an older one's records).
    pub fn for_process(env: &Environment) -> Option<MetadataCacheSettings> {
        let exe = std::env::current_exe()
            .and_then(std::fs::metadata)
            .map(|m| format!("{}:{}:{}", m.ino(), m.len(), ns(m.mtime(), m.mtime_nsec())))
            .unwrap_or_default();
        Some(MetadataCacheSettings {
            dir: cache_dir(env)?,
            build: format!("{}+{exe}", env!("CARGO_PKG_VERSION")),
        })
    }
}

/// The file a record stands for, as it was when it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKey {
    path: PathBuf,
    canonical: PathBuf,
    within: Option<PathBuf>,
    stamp: Stamp,
}

impl FileKey {
    /// Whether this key is `c`'s as the file is now (`stamp`).
    fn is(&self, c: &Candidate, canonical: &Path, stamp: &Stamp) -> bool {
        self.stamp == *stamp
            && self.path == c.path
            && self.canonical == canonical
            && self.within == c.within
    }
}

/// What the kernel says of a file's identity and last change: no paths, so a file waiting to
/// be read costs a few bytes, not three more paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl From<FileIdentity> for Stamp {
    fn from(f: FileIdentity) -> Stamp {
        Stamp {
            dev: f.dev,
            ino: f.ino,
            size: f.size,
            mtime_ns: f.mtime_ns,
            ctime_ns: f.ctime_ns,
        }
    }
}

impl Stamp {
    /// The stamp of `c`'s file as it is now, when it can be cached at all, and whether it
    /// changed too recently to be kept.
    fn of(c: &Candidate) -> Option<(&Path, Stamp, bool)> {
        let canonical = c.canonical.as_deref()?;
        // Paths that are not UTF-8 cannot be written in the cache file.
        c.path.to_str()?;
        canonical.to_str()?;
        c.within.as_ref().map_or(Some(""), |w| w.to_str())?;
        let meta = std::fs::symlink_metadata(canonical).ok()?;
        if !meta.file_type().is_file() {
            return None;
        }
        let mtime = ns(meta.mtime(), meta.mtime_nsec());
        let ctime = ns(meta.ctime(), meta.ctime_nsec());
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(i64::MAX, |d| {
                i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
            });
        let settle = i64::try_from(SETTLE.as_nanos()).unwrap_or(i64::MAX);
        let settled = now.saturating_sub(ctime.max(mtime)) > settle;
        let stamp = Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.len(),
            mtime_ns: mtime,
            ctime_ns: ctime,
        };
        Some((canonical, stamp, settled))
    }
}

/// Whether what a file loaded to may stand for it later: valid, without a diagnostic, in a
/// format whose parse reads nothing but the file itself.
pub(crate) fn reusable(loaded: &Loaded) -> bool {
    loaded.summary.is_some()
        && loaded.declared.is_some()
        && loaded.diagnostics.is_empty()
        && FORMATS.contains(&loaded.format)
}

fn ns(secs: i64, nanos: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// What a listing needs of one valid file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    key: FileKey,
    name: String,
    format: String,
    summary: SkillSummary,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CacheFile {
    tag: String,
    build: String,
    /// Boxed: read from a file of unknown length, the vector grows by doubling, and a vector of
    /// pointers wastes little doing it where one of records would waste up to half of them.
    #[allow(clippy::vec_box)] // boxed on purpose, as said above
    records: Vec<Box<Record>>,
}

/// What the cache answers for one file.
pub(crate) enum Lookup {
    /// The file is unchanged since it was cached: what it loads to.
    Hit(Box<Loaded>),
    /// It must be read; with a stamp, what it reads to may be kept ([`MetadataCache::offer`]).
    Miss(Option<Stamp>),
}

/// The cache of one set of skill directories, open for one discovery.
///
/// Its memory is what a listing of many skills peaks on, so it holds each record once: the
/// file's records sorted by path (found by binary search, no map beside them), a flag for each
/// one used, and the records of files read this time; a file waiting to be read is only its
/// [`Stamp`]. [`MetadataCache::save`] takes it by value, so it is gone before the registry is
/// built.
#[derive(Debug)]
pub(crate) struct MetadataCache {
    file: PathBuf,
    dir: PathBuf,
    build: String,
    /// Records read from the file, sorted by path.
    #[allow(clippy::vec_box)] // see CacheFile::records
    old: Vec<Box<Record>>,
    /// Which of `old` this discovery used; the rest are of files gone or changed.
    used: Vec<bool>,
    /// Records of files read this time.
    new: Vec<Record>,
}

impl MetadataCache {
    /// The cache for `dirs`, with what its file holds when it is usable.
    pub(crate) fn open(settings: &MetadataCacheSettings, dirs: &[SkillDir]) -> MetadataCache {
        let mut hasher = Sha256::new();
        for d in dirs {
            hasher.update(d.path.as_os_str().as_encoded_bytes());
            hasher.update([0]);
            hasher.update(format!("{:?}/{:?}", d.scope, d.kind).as_bytes());
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        let file = settings.dir.join(format!("metadata-{hex}.json"));
        let mut old: Vec<Box<Record>> = read_cache_file(&file)
            .filter(|c| c.tag == TAG && c.build == settings.build)
            .map(|c| c.records)
            .unwrap_or_default();
        // The parse grew the vector by doubling.
        old.shrink_to_fit();
        old.sort_unstable_by(|a, b| a.key.path.cmp(&b.key.path));
        MetadataCache {
            file,
            dir: settings.dir.clone(),
            build: settings.build.clone(),
            used: vec![false; old.len()],
            old,
            new: Vec::new(),
        }
    }

    /// Makes room for the records of `files` files read this time.
    pub(crate) fn reserve(&mut self, files: usize) {
        self.new.reserve_exact(files);
    }

    /// What the cache holds for `c` as its file is now.
    pub(crate) fn lookup(&mut self, c: &Candidate) -> Lookup {
        let Some((canonical, stamp, settled)) = Stamp::of(c) else {
            return Lookup::Miss(None);
        };
        let miss = Lookup::Miss(settled.then_some(stamp));
        let start = self.old.partition_point(|r| r.key.path < c.path);
        let Some(i) = (start..self.old.len())
            .take_while(|&i| self.old[i].key.path == c.path)
            .find(|&i| !self.used[i] && self.old[i].key.is(c, canonical, &stamp))
        else {
            return miss;
        };
        let record = &self.old[i];
        let Some(format) = FORMATS.iter().copied().find(|f| f.label() == record.format) else {
            return miss;
        };
        self.used[i] = true;
        Lookup::Hit(Box::new(Loaded {
            declared: Some(record.name.clone()),
            spec: None,
            summary: Some(record.summary.clone()),
            format,
            diagnostics: Vec::new(),
            read: None,
        }))
    }

    /// Keeps what `c` loaded to, when it is worth keeping (see the module's documentation);
    /// `stamp` is what [`MetadataCache::lookup`] found before the file was read.
    pub(crate) fn offer(&mut self, c: &Candidate, stamp: Option<Stamp>, loaded: &Loaded) {
        let (Some(stamp), Some(canonical)) = (stamp, &c.canonical) else {
            return;
        };
        let (Some(summary), Some(name)) = (&loaded.summary, &loaded.declared) else {
            return;
        };
        if !reusable(loaded) {
            return;
        }
        // The file read must be the one the canonical path showed before the read, unchanged:
        // a link switched meanwhile would pair one file's summary with the other's key.
        if loaded.read.map(Stamp::from) != Some(stamp) {
            return;
        }
        self.new.push(Record {
            key: FileKey {
                path: c.path.clone(),
                canonical: canonical.clone(),
                within: c.within.clone(),
                stamp,
            },
            name: name.clone(),
            format: loaded.format.label().to_owned(),
            summary: summary.clone(),
        });
    }

    /// Writes the records of this discovery back, when they differ from the file's. Failing
    /// to write a cache is not an error: the next command reads the files again.
    pub(crate) fn save(self) {
        let stale = self.used.iter().any(|u| !u);
        if self.new.is_empty() && !stale {
            return;
        }
        let records: Vec<&Record> = self
            .old
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| **used)
            .map(|(r, _)| &**r)
            .chain(&self.new)
            .collect();
        let content = CacheFileRef {
            tag: TAG,
            build: &self.build,
            records,
        };
        if std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .is_err()
        {
            return;
        }
        let fresh = !self.file.exists();
        // Streamed to the file: the text of 10,000 records would be the largest thing a listing
        // holds.
        let written = write_replacing(&self.file, |w| {
            serde_json::to_writer(w, &content).map_err(std::io::Error::other)
        });
        if written.is_ok() && fresh {
            prune(&self.dir);
        }
    }
}

/// [`CacheFile`] as written, borrowing the records it is made of.
#[derive(Serialize)]
struct CacheFileRef<'a> {
    tag: &'a str,
    build: &'a str,
    records: Vec<&'a Record>,
}

/// The cache file at `path`, when it is one this user wrote and nobody else can change.
fn read_cache_file(path: &Path) -> Option<CacheFile> {
    use rustix::fs::{Mode, OFlags};
    // Never through a link, never blocking on a FIFO.
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata().ok()?;
    if !meta.is_file()
        || meta.uid() != rustix::process::geteuid().as_raw()
        || meta.mode() & 0o022 != 0
        || meta.len() > MAX_CACHE_BYTES
    {
        return None;
    }
    // Read whole and then parsed: twice as fast as parsing from a reader, and the text is
    // gone before the loads that make a listing's peak.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_CACHE_BYTES).read_to_end(&mut bytes).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes what `write` writes to `path` through a temporary file beside it and a rename, so a
/// reader sees the old file or the new one. Not flushed to disk: a cache lost in a crash is
/// rebuilt.
fn write_replacing(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut out = std::io::BufWriter::new(file);
        write(&mut out)?;
        out.flush()?;
        drop(out);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes the least recently written cache files past [`MAX_CACHE_FILES`].
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("metadata-") && name.ends_with(".json")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() <= MAX_CACHE_FILES {
        return;
    }
    files.sort();
    for (_, path) in &files[..files.len() - MAX_CACHE_FILES] {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests;
