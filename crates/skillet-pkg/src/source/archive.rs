//! A `.tar.gz` archive: downloaded (or copied from `file://`), checked against its required
//! sha256 before a single entry is read, then unpacked entry by entry.
//!
//! The unpacker writes only through handles opened relative to the unpack folder without
//! following links, and refuses, naming the entry: absolute paths, `..`, symbolic links that
//! are absolute or climb out, hard links to anything but a file unpacked earlier (which is then
//! copied, never linked), devices, FIFOs and any other entry type. A single top-level folder is
//! stripped (as GitHub's archives have one). The result is copied into the package folder under
//! the tree policy of `dir.rs`, like every source.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use tar::EntryType;

use super::archive_file::download;
use super::dir::{copy_tree, format_bytes, resolve_inside};
use super::progress::{Phase, Progress};
use super::{FetchOptions, Fetched, Pinned, SourceError};

pub(crate) fn fetch_archive(
    url: &str,
    sha256: &str,
    staging: &Path,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<Fetched, SourceError> {
    let expected = sha256.trim().to_ascii_lowercase();
    if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SourceError::BadDigest {
            value: sha256.into(),
        });
    }
    std::fs::create_dir_all(staging).map_err(|e| SourceError::io("cannot create", staging, e))?;
    let download_path = staging.join(".download.tar.gz");
    let unpack_path = staging.join(".unpack");
    // Only the download sees the URL's credentials, if it has any; all else names it without.
    let shown = super::without_credentials(url);
    let result = (|| {
        let actual = download(url, &download_path, options, progress)?;
        if actual != expected {
            return Err(SourceError::DigestMismatch {
                url: shown.clone(),
                expected: expected.clone(),
                actual,
            });
        }
        unpack(&download_path, &unpack_path, &shown, options, progress)?;
        let top = single_top_folder(&unpack_path)?;
        let root = staging.join("package");
        copy_tree(&top, &root, &shown, options.tree_limits(), progress)?;
        Ok(Fetched {
            root,
            pinned: Pinned::Archive {
                url: shown.clone(),
                sha256: expected.clone(),
            },
        })
    })();
    // Scratch either way; what is left on a failure is inside staging, removed with it.
    let _ = std::fs::remove_file(&download_path);
    let _ = std::fs::remove_dir_all(&unpack_path);
    result
}

/// The folder to install: the unpack folder, or its only entry when that is a folder.
fn single_top_folder(unpacked: &Path) -> Result<PathBuf, SourceError> {
    let mut entries = std::fs::read_dir(unpacked)
        .map_err(|e| SourceError::io("cannot read", unpacked, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SourceError::io("cannot read", unpacked, e))?;
    if entries.len() == 1 {
        let only = entries.remove(0);
        let kind = only
            .file_type()
            .map_err(|e| SourceError::io("cannot read", only.path(), e))?;
        if kind.is_dir() {
            return Ok(only.path());
        }
    }
    Ok(unpacked.to_path_buf())
}

/// Unpacks `archive` into `dest` (created here), refusing any entry that could land outside it.
pub(crate) fn unpack(
    archive: &Path,
    dest: &Path,
    url: &str,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<(), SourceError> {
    std::fs::create_dir(dest).map_err(|e| SourceError::io("cannot create", dest, e))?;
    let root = rustix::fs::open(
        dest,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| SourceError::io("cannot open", dest, e.into()))?;
    let file = File::open(archive).map_err(|e| SourceError::io("cannot read", archive, e))?;
    // Every decompressed byte counts, headers included: the tar reader keeps long names and
    // pax records in memory, and a small .gz can expand to any size.
    let stream_cap = options
        .max_tree_bytes
        .saturating_add(options.max_entries.saturating_mul(2048))
        .saturating_add(1024 * 1024);
    let capped = Capped {
        inner: flate2::read::GzDecoder::new(file),
        left: stream_cap,
    };
    let mut tar = tar::Archive::new(capped);
    let bad = |e: io::Error| {
        if e.kind() == io::ErrorKind::FileTooLarge {
            SourceError::TooLarge {
                limit: format!("{} unpacked", format_bytes(options.max_tree_bytes)),
                source_name: url.into(),
            }
        } else {
            SourceError::BadArchive {
                url: url.into(),
                reason: e.to_string(),
            }
        }
    };
    let phase = Phase::start(progress, &format!("unpacking {url}"), None);
    let mut unpacker = Unpacker {
        root: root.as_fd(),
        url,
        bytes: 0,
        entries: 0,
        options,
    };
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        unpacker.entry(&mut entry).map_err(|e| match e {
            Refusal::Source(e) => e,
            Refusal::Entry(reason) => SourceError::UnsafeEntry {
                url: url.into(),
                entry: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
                reason,
            },
            Refusal::Io(e) => bad(e),
        })?;
        phase.advance(1);
    }
    Ok(())
}

/// A reader that fails once `left` bytes have been read.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::FileTooLarge,
                "the archive expands past the limit",
            )
        })?;
        Ok(n)
    }
}

enum Refusal {
    /// The entry is unsafe: why.
    Entry(String),
    /// A limit or an error of skillet's own.
    Source(SourceError),
    /// The archive could not be read.
    Io(io::Error),
}

impl From<rustix::io::Errno> for Refusal {
    fn from(e: rustix::io::Errno) -> Self {
        match e {
            rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => {
                Refusal::Entry("its path passes through a symbolic link or a file".into())
            }
            rustix::io::Errno::EXIST => Refusal::Entry("the archive holds this name twice".into()),
            e => Refusal::Io(e.into()),
        }
    }
}

struct Unpacker<'a> {
    root: BorrowedFd<'a>,
    url: &'a str,
    bytes: u64,
    entries: u64,
    options: &'a FetchOptions,
}

impl Unpacker<'_> {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), Refusal> {
        let kind = entry.header().entry_type();
        // Metadata for the entries that follow, not files.
        if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader) {
            return Ok(());
        }
        self.entries += 1;
        if self.entries > self.options.max_entries {
            return Err(Refusal::Source(SourceError::TooLarge {
                limit: format!("{} entries", self.options.max_entries),
                source_name: self.url.into(),
            }));
        }
        let name = entry.path_bytes().into_owned();
        let parts = entry_parts(&name).map_err(|r| Refusal::Entry(r.into()))?;
        let Some((last, dirs)) = parts.split_last() else {
            // "./": the unpack folder itself.
            return if kind == EntryType::Directory {
                Ok(())
            } else {
                Err(Refusal::Entry(
                    "it names the archive's root as a file".into(),
                ))
            };
        };
        let last = cstring(last)?;
        match kind {
            EntryType::Directory => {
                let parent = self.dirs(dirs)?;
                match rustix::fs::mkdirat(&parent, &last, Mode::from_raw_mode(0o755)) {
                    Ok(()) => Ok(()),
                    // Listed twice, or after a file inside it: fine if it is a folder.
                    Err(rustix::io::Errno::EXIST) => {
                        let st = rustix::fs::statat(&parent, &last, AtFlags::SYMLINK_NOFOLLOW)?;
                        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                            Ok(())
                        } else {
                            Err(Refusal::Entry(
                                "a folder where the archive already has a file or link".into(),
                            ))
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            }
            EntryType::Regular | EntryType::Continuous => {
                let size = entry.header().size().map_err(Refusal::Io)?;
                self.count_bytes(size)?;
                let parent = self.dirs(dirs)?;
                let mode = entry.header().mode().unwrap_or(0o644);
                let out = create(&parent, &last, mode)?;
                copy_capped(entry, out, size)
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| Refusal::Entry("a symbolic link without a target".into()))?
                    .into_owned();
                let rel: Vec<Vec<u8>> = dirs.to_vec();
                if let Err(reason) = resolve_inside(&rel, &target) {
                    return Err(Refusal::Entry(format!(
                        "a symbolic link to {:?}, {reason}",
                        String::from_utf8_lossy(&target)
                    )));
                }
                let parent = self.dirs(dirs)?;
                let target = cstring(&target)?;
                // Kept as a link here; copying into the package turns it into the file it
                // names (or refuses it), like a link in any source.
                rustix::fs::symlinkat(&target, &parent, &last)?;
                Ok(())
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| Refusal::Entry("a hard link without a target".into()))?
                    .into_owned();
                let shown = String::from_utf8_lossy(&target).into_owned();
                // A hard link's target is named from the archive's root.
                let target_parts = entry_parts(&target).map_err(|reason| {
                    Refusal::Entry(format!("a hard link to {shown:?}, {reason}"))
                })?;
                let source = self.open_earlier_file(&target_parts).map_err(|_| {
                    Refusal::Entry(format!(
                        "a hard link to {shown:?}, which is not a file unpacked earlier from this archive"
                    ))
                })?;
                let st = rustix::fs::fstat(&source)?;
                let size = st.st_size as u64;
                self.count_bytes(size)?;
                let parent = self.dirs(dirs)?;
                let out = create(&parent, &last, st.st_mode)?;
                copy_capped(&mut File::from(source), out, size)
            }
            EntryType::Char | EntryType::Block => Err(Refusal::Entry(
                "a device file, which a package may not hold".into(),
            )),
            EntryType::Fifo => Err(Refusal::Entry(
                "a FIFO, which a package may not hold".into(),
            )),
            other => Err(Refusal::Entry(format!(
                "an entry of type {other:?}, which skillet does not unpack"
            ))),
        }
    }

    fn count_bytes(&mut self, size: u64) -> Result<(), Refusal> {
        self.bytes = self.bytes.saturating_add(size);
        if self.bytes > self.options.max_tree_bytes {
            return Err(Refusal::Source(SourceError::TooLarge {
                limit: format!("{} unpacked", format_bytes(self.options.max_tree_bytes)),
                source_name: self.url.into(),
            }));
        }
        Ok(())
    }

    /// Opens (making what is missing) the folders `dirs` below the root, never through a link.
    fn dirs(&self, dirs: &[Vec<u8>]) -> Result<OwnedFd, Refusal> {
        let mut at = rustix::fs::openat(
            self.root,
            c".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        for part in dirs {
            let part = cstring(part)?;
            match rustix::fs::mkdirat(&at, &part, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            }
            at = rustix::fs::openat(
                &at,
                &part,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
        }
        Ok(at)
    }

    /// The regular file at `parts`, reached through folders only.
    fn open_earlier_file(&self, parts: &[Vec<u8>]) -> Result<OwnedFd, Refusal> {
        let Some((last, dirs)) = parts.split_last() else {
            return Err(Refusal::Entry(String::new()));
        };
        let mut at = rustix::fs::openat(
            self.root,
            c".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        for part in dirs {
            at = rustix::fs::openat(
                &at,
                &cstring(part)?,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
        }
        let fd = rustix::fs::openat(
            &at,
            &cstring(last)?,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let st = rustix::fs::fstat(&fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(Refusal::Entry(String::new()));
        }
        Ok(fd)
    }
}

/// An entry's path as components, refusing an absolute path or any `..`.
fn entry_parts(name: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    if name.starts_with(b"/") {
        return Err("an absolute path");
    }
    let mut parts = Vec::new();
    for part in name.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err("a path with '..', which could climb out of the package"),
            part => parts.push(part.to_vec()),
        }
    }
    Ok(parts)
}

fn cstring(bytes: &[u8]) -> Result<CString, Refusal> {
    CString::new(bytes).map_err(|_| Refusal::Entry("a name with a NUL byte".into()))
}

fn create(dir: &OwnedFd, name: &CString, mode: u32) -> Result<File, Refusal> {
    let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
    let fd = rustix::fs::openat(
        dir.as_fd(),
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
    )?;
    Ok(File::from(fd))
}

/// Copies at most `size` bytes: an entry cannot write more than its header declared (and
/// counted against the cap).
fn copy_capped(input: &mut impl Read, mut out: File, size: u64) -> Result<(), Refusal> {
    io::copy(&mut input.take(size), &mut out).map_err(Refusal::Io)?;
    out.flush().map_err(Refusal::Io)
}
