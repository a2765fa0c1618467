//! Reading a file a skill names, without trusting the name: the file skillet itself reads (a
//! skill file, a `SKILL.md`, a `file://` prompt) must be a regular file of bounded size, and a
//! file a skill *references* must resolve beneath the skill's own folder and hold no credentials.
//!
//! Everything here runs outside the sandbox, so a name a repository chose (a symlink to
//! `~/.ssh/id_rsa`, `..`, an absolute path, a FIFO, `/dev/stdin`) must never make skillet read
//! what the skill could not, nor block forever.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};

use crate::credentials::is_secret_file;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Nothing at that path.
    #[error("does not exist")]
    NotFound,
    /// The path leaves the directory it must stay in (`..`, an absolute path, or a symbolic
    /// link pointing out).
    #[error(
        "leaves {bound} (through `..`, an absolute path or a symbolic link); skillet reads only files beneath it: replace the link with a regular file there"
    )]
    Outside {
        /// The directory the path must stay in.
        bound: PathBuf,
    },
    /// Not a regular file: a FIFO, a device, a socket or a directory.
    #[error(
        "is a {kind}, not a regular file; skillet reads only regular files: replace it with a plain file"
    )]
    NotRegular {
        /// What it is.
        kind: &'static str,
    },
    /// Bigger than the limit.
    #[error("is {size} bytes, larger than the limit of {limit} bytes; keep it smaller")]
    TooLarge {
        /// The file's size, in bytes (at least `limit + 1` when it grew while being read).
        size: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A regular file with more than one name: it may be another file's contents under an
    /// innocent name.
    #[error(
        "has {links} hard links; skillet reads only files with one name: copy the file instead of linking it"
    )]
    HardLinked {
        /// How many names it has.
        links: u64,
    },
    /// The file, or what its name resolves to, holds credentials by convention.
    #[error(
        "is (or resolves to) a credential file ({resolved}); skillet never reads one on a skill's behalf"
    )]
    Credential {
        /// Where the name led.
        resolved: String,
    },
    /// Any other failure.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Writes `bytes` as the file at `path`, replacing what is there: a new file is written beside
/// it (created exclusively, so never through a link) and renamed over the name. A symbolic link
/// at `path` is replaced, never followed: a repository that ships `report.xml ->
/// ~/.ssh/authorized_keys` gets its link overwritten, not the key file. Readers see the old
/// file or the new one, never half of it. The new file's mode is 0644 less the umask.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let target = dir.path().join("victim");
/// std::fs::write(&target, "keep")?;
/// let link = dir.path().join("report.xml");
/// std::os::unix::fs::symlink(&target, &link)?;
/// skillet_spec::files::replace_file(&link, b"<testsuites/>")?;
/// assert_eq!(std::fs::read_to_string(&target)?, "keep");
/// assert_eq!(std::fs::read_to_string(&link)?, "<testsuites/>");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if path.file_name().is_none() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "names a directory, not a file",
        ));
    }
    let mut file = tempfile::Builder::new()
        .prefix(".skillet-write-")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Reads a regular file of at most `limit` bytes. Links are followed, but the file opened must
/// be regular: a FIFO or a device is refused without waiting for a writer, and a terminal does
/// not become the controlling one.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    read_regular_identified(path, limit).map(|(bytes, _)| bytes)
}

/// [`read_regular`], with the identity of the very file read.
pub fn read_regular_identified(
    path: &Path,
    limit: u64,
) -> Result<(Vec<u8>, FileIdentity), FileError> {
    let fd = rustix::fs::open(path, read_flags(), Mode::empty()).map_err(errno_to_error)?;
    read_checked(fd, limit)
}

/// Reads `rel` beneath the directory `bound` (a relative path; an absolute one is taken relative
/// to `bound` when it lies lexically inside it). The kernel resolves the name beneath `bound`
/// (`openat2` with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`), so no `..`, absolute link or
/// `/proc` link can lead out, not even one planted while skillet looks.
pub fn read_beneath(bound: &Path, rel: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    read_beneath_identified(bound, rel, limit).map(|(bytes, _)| bytes)
}

/// [`read_beneath`], with the identity of the very file read.
pub fn read_beneath_identified(
    bound: &Path,
    rel: &Path,
    limit: u64,
) -> Result<(Vec<u8>, FileIdentity), FileError> {
    let fd = open_beneath(bound, rel)?;
    read_checked(fd, limit)
}

/// Which file was read, and how it was then: taken from the open handle, so it is the file the
/// bytes came from even when a link on the way was switched meanwhile. A cache keyed on what a
/// path shows later compares this, never a look at the path taken before the read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes, when opened.
    pub size: u64,
    /// Modification time, in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Status change time, in nanoseconds since the epoch.
    pub ctime_ns: i64,
}

/// Reads a file a skill references (`file://./prompt.md`) beneath the skill's folder `dir`:
/// [`read_beneath`], and also refused when it has several hard links, or when its name or what
/// it resolves to is a credential file ([`is_secret_file`]).
pub fn read_reference(dir: &Path, rel: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    if is_secret_file(&rel.to_string_lossy()) {
        return Err(FileError::Credential {
            resolved: rel.display().to_string(),
        });
    }
    let fd = open_beneath(dir, rel)?;
    let stat = rustix::fs::fstat(&fd).map_err(errno_to_error)?;
    // `st_nlink` is a u32 on some targets, a u64 on others.
    #[allow(clippy::useless_conversion)]
    let links = u64::from(stat.st_nlink);
    if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile && links > 1 {
        return Err(FileError::HardLinked { links });
    }
    // The name the kernel followed, so `p.md -> id_rsa` beside the skill is caught too.
    let resolved = std::fs::read_link(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&fd)
    ))
    .map_err(FileError::Io)?;
    if is_secret_file(&resolved.to_string_lossy()) {
        return Err(FileError::Credential {
            resolved: resolved.display().to_string(),
        });
    }
    read_checked(fd, limit).map(|(bytes, _)| bytes)
}

fn read_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC
}

fn open_beneath(bound: &Path, rel: &Path) -> Result<OwnedFd, FileError> {
    let rel = if rel.is_absolute() {
        rel.strip_prefix(bound).map_err(|_| FileError::Outside {
            bound: bound.to_path_buf(),
        })?
    } else {
        rel
    };
    let dir = rustix::fs::open(
        bound,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno_to_error)?;
    let outside = || FileError::Outside {
        bound: bound.to_path_buf(),
    };
    match rustix::fs::openat2(
        &dir,
        rel,
        read_flags(),
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => Ok(fd),
        // The kernel refuses every absolute link under RESOLVE_BENEATH, even one pointing back
        // inside (`x.json -> /work/repo/shared/x.json`): resolve it, and when the result is
        // inside, open that resolved name with no link allowed at all, so nothing planted since
        // can lead elsewhere.
        Err(rustix::io::Errno::XDEV) => {
            let base = std::fs::canonicalize(bound)?;
            let real = std::fs::canonicalize(bound.join(rel)).map_err(|_| outside())?;
            let inner = real.strip_prefix(&base).map_err(|_| outside())?;
            rustix::fs::openat2(
                &dir,
                inner,
                read_flags(),
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            )
            .map_err(|e| match e {
                rustix::io::Errno::XDEV | rustix::io::Errno::LOOP => outside(),
                e => errno_to_error(e),
            })
        }
        // Kernels before 5.6: resolve by hand, then open the result without following a link.
        Err(rustix::io::Errno::NOSYS) => {
            let base = std::fs::canonicalize(bound)?;
            let real = std::fs::canonicalize(base.join(rel)).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => FileError::NotFound,
                _ => FileError::Io(e),
            })?;
            if !real.starts_with(&base) {
                return Err(outside());
            }
            rustix::fs::open(&real, read_flags() | OFlags::NOFOLLOW, Mode::empty())
                .map_err(errno_to_error)
        }
        Err(e) => Err(errno_to_error(e)),
    }
}

fn read_checked(fd: OwnedFd, limit: u64) -> Result<(Vec<u8>, FileIdentity), FileError> {
    let stat = rustix::fs::fstat(fd.as_fd()).map_err(errno_to_error)?;
    let ns = |secs: i64, nanos: i64| secs.saturating_mul(1_000_000_000).saturating_add(nanos);
    // Field widths differ between targets.
    #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
    let identity = FileIdentity {
        dev: stat.st_dev as u64,
        ino: stat.st_ino as u64,
        size: u64::try_from(stat.st_size).unwrap_or(u64::MAX),
        mtime_ns: ns(stat.st_mtime as i64, stat.st_mtime_nsec as i64),
        ctime_ns: ns(stat.st_ctime as i64, stat.st_ctime_nsec as i64),
    };
    let kind = match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => None,
        FileType::Directory => Some("directory"),
        FileType::Fifo => Some("FIFO (named pipe)"),
        FileType::CharacterDevice => Some("character device"),
        FileType::BlockDevice => Some("block device"),
        FileType::Socket => Some("socket"),
        _ => Some("special file"),
    };
    if let Some(kind) = kind {
        return Err(FileError::NotRegular { kind });
    }
    let size = u64::try_from(stat.st_size).unwrap_or(u64::MAX);
    if size > limit {
        return Err(FileError::TooLarge { size, limit });
    }
    let mut bytes = Vec::new();
    // The size can change after fstat: read at most one byte past the limit to notice.
    std::fs::File::from(fd)
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge {
            size: size.max(bytes.len() as u64),
            limit,
        });
    }
    Ok((bytes, identity))
}

fn errno_to_error(e: rustix::io::Errno) -> FileError {
    match e {
        rustix::io::Errno::NOENT => FileError::NotFound,
        // A magic link, or too many links: nothing a skill's folder needs.
        rustix::io::Errno::LOOP => FileError::Io(std::io::Error::other(
            "goes through a /proc link or too many symbolic links; replace it with a plain file",
        )),
        e => FileError::Io(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "skillet-spec-files-{}-{}",
            std::process::id(),
            fastish_id()
        ));
        std::fs::create_dir_all(d.join("skill")).unwrap();
        d
    }

    fn fastish_id() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }

    #[test]
    fn a_reference_beside_the_skill_is_read() {
        let d = dir();
        std::fs::write(d.join("skill/p.md"), "hello").unwrap();
        symlink("p.md", d.join("skill/alias.md")).unwrap();
        assert_eq!(
            read_reference(&d.join("skill"), Path::new("p.md"), 64).unwrap(),
            b"hello"
        );
        assert_eq!(
            read_reference(&d.join("skill"), Path::new("alias.md"), 64).unwrap(),
            b"hello"
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn an_absolute_link_pointing_inside_is_read() {
        let d = dir();
        std::fs::write(d.join("skill/p.md"), "inside").unwrap();
        symlink(d.join("skill/p.md"), d.join("skill/abs.md")).unwrap();
        let got = read_beneath(&d.join("skill"), Path::new("abs.md"), 64).unwrap();
        assert_eq!(got, b"inside");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn references_leaving_the_folder_are_refused() {
        let d = dir();
        std::fs::write(d.join("secret.txt"), "SECRET").unwrap();
        symlink(d.join("secret.txt"), d.join("skill/abs.md")).unwrap();
        symlink("../secret.txt", d.join("skill/rel.md")).unwrap();
        symlink(&d, d.join("skill/up")).unwrap();
        let s = d.join("skill");
        for rel in ["abs.md", "rel.md", "../secret.txt", "up/secret.txt"] {
            let e = read_reference(&s, Path::new(rel), 64).unwrap_err();
            assert!(matches!(e, FileError::Outside { .. }), "{rel}: {e}");
        }
        let abs = d.join("secret.txt");
        assert!(matches!(
            read_reference(&s, &abs, 64),
            Err(FileError::Outside { .. })
        ));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn credentials_hard_links_specials_and_big_files_are_refused() {
        let d = dir();
        let s = d.join("skill");
        std::fs::write(s.join("id_rsa"), "KEY").unwrap();
        symlink("id_rsa", s.join("p.md")).unwrap();
        assert!(matches!(
            read_reference(&s, Path::new("p.md"), 64),
            Err(FileError::Credential { .. })
        ));
        assert!(matches!(
            read_reference(&s, Path::new("id_rsa"), 64),
            Err(FileError::Credential { .. })
        ));
        std::fs::write(d.join("other"), "X").unwrap();
        std::fs::hard_link(d.join("other"), s.join("h.md")).unwrap();
        assert!(matches!(
            read_reference(&s, Path::new("h.md"), 64),
            Err(FileError::HardLinked { links: 2 })
        ));
        rustix::fs::mknodat(
            rustix::fs::CWD,
            s.join("fifo.md"),
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(matches!(
            read_reference(&s, Path::new("fifo.md"), 64),
            Err(FileError::NotRegular { .. })
        ));
        assert!(matches!(
            read_regular(&s.join("fifo.md"), 64),
            Err(FileError::NotRegular { .. })
        ));
        std::fs::write(s.join("big.md"), "x".repeat(65)).unwrap();
        assert!(matches!(
            read_reference(&s, Path::new("big.md"), 64),
            Err(FileError::TooLarge { .. })
        ));
        symlink("/dev/stdin", s.join("stdin.md")).unwrap();
        assert!(read_reference(&s, Path::new("stdin.md"), 64).is_err());
        assert!(matches!(
            read_regular(Path::new("/dev/null"), 64),
            Err(FileError::NotRegular { .. })
        ));
        std::fs::remove_dir_all(d).unwrap();
    }
}
