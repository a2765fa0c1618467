//! Getting an archive's bytes into staging, hashing them on the way: downloaded through the
//! crate's web fetcher (`crate::download`), or copied from a `file://` URL.
//!
//! The copy is what gets checked and unpacked, never the original: a file that changes after
//! it was hashed cannot slip past the check.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use reqwest::Url;
use sha2::{Digest, Sha256};

use super::dir::format_bytes;
use super::progress::{Phase, Progress};
use super::{FetchOptions, SourceError};
use crate::download::{self, AddressPolicy, DownloadError, Limits, Stop};

/// Copies the bytes `url` names to `dest`; returns their sha256, lowercase hex.
pub(crate) fn download(
    url: &str,
    dest: &Path,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<String, SourceError> {
    let parsed = Url::parse(url).map_err(|e| SourceError::Url {
        url: super::without_credentials(url),
        reason: format!("not a URL ({e})"),
    })?;
    let mut out = File::options()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|e| SourceError::io("cannot create", dest, e))?;
    let mut sink = Sink {
        out: &mut out,
        dest,
        hasher: Sha256::new(),
        written: 0,
        max: options.max_download_bytes,
        url,
    };
    match parsed.scheme() {
        "file" => copy_file(&parsed, url, &mut sink, progress)?,
        "https" | "http" => fetch_http(url, &mut sink, options, progress)?,
        _ => {
            return Err(SourceError::Url {
                url: super::without_credentials(url),
                reason: "an archive is fetched over https:// or from file://; give one of those"
                    .into(),
            });
        }
    }
    let digest = sink.hasher.finalize();
    out.sync_all()
        .map_err(|e| SourceError::io("cannot write", dest, e))?;
    Ok(hex(&digest))
}

struct Sink<'a> {
    out: &'a mut File,
    dest: &'a Path,
    hasher: Sha256,
    written: u64,
    max: u64,
    url: &'a str,
}

impl Sink<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), SourceError> {
        self.written += bytes.len() as u64;
        if self.written > self.max {
            return Err(self.too_large());
        }
        self.hasher.update(bytes);
        self.out
            .write_all(bytes)
            .map_err(|e| SourceError::io("cannot write", self.dest, e))
    }

    fn too_large(&self) -> SourceError {
        SourceError::TooLarge {
            limit: format_bytes(self.max),
            source_name: super::without_credentials(self.url),
        }
    }
}

fn copy_file(
    parsed: &Url,
    url: &str,
    sink: &mut Sink<'_>,
    progress: &dyn Progress,
) -> Result<(), SourceError> {
    let path: PathBuf = parsed.to_file_path().map_err(|()| SourceError::Url {
        url: super::without_credentials(url),
        reason: "a file URL names an absolute path on this machine (file:///path/to/pkg.tar.gz)"
            .into(),
    })?;
    // Non-blocking, so a FIFO named by the URL is refused instead of waited on.
    let fd = rustix::fs::open(
        &path,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| SourceError::io("cannot read", &path, e.into()))?;
    let mut file = File::from(fd);
    let metadata = file
        .metadata()
        .map_err(|e| SourceError::io("cannot read", &path, e))?;
    if !metadata.is_file() {
        return Err(SourceError::Url {
            url: super::without_credentials(url),
            reason: "this is not a regular file; name the .tar.gz file itself".into(),
        });
    }
    let total = Some(metadata.len());
    if total.is_some_and(|t| t > sink.max) {
        return Err(sink.too_large());
    }
    let phase = Phase::start(
        progress,
        &format!("copying {}", super::without_credentials(url)),
        total,
    );
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| SourceError::io("cannot read", &path, e))?;
        if n == 0 {
            return Ok(());
        }
        sink.write(&buf[..n])?;
        phase.advance(n as u64);
    }
}

/// Through the crate's one web fetcher, which owns the schemes, redirects, addresses and
/// limits; its failures keep this crate's archive errors.
fn fetch_http(
    url: &str,
    sink: &mut Sink<'_>,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<(), SourceError> {
    let limits = Limits {
        connect: options.connect_timeout,
        stall: options.stall_timeout,
        total: None,
        max_bytes: sink.max,
    };
    let mut write = |bytes: &[u8]| sink.write(bytes);
    let result = download::get(
        url,
        &limits,
        &AddressPolicy::default(),
        progress,
        &mut write,
    );
    match result {
        Ok(()) => Ok(()),
        Err(Stop::Sink(e)) => Err(e),
        Err(Stop::Download(e)) => Err(match e {
            DownloadError::BadUrl(reason) => SourceError::Url {
                url: super::without_credentials(url),
                reason,
            },
            DownloadError::Status { status, hint } => SourceError::HttpStatus {
                url: super::without_credentials(url),
                status,
                hint,
            },
            DownloadError::Stalled { seconds } => SourceError::Stalled {
                url: super::without_credentials(url),
                seconds,
            },
            DownloadError::TooLarge { .. } => sink.too_large(),
            // SourceError::Http adds its own advice.
            DownloadError::Refused(reason) | DownloadError::Transport(reason) => {
                SourceError::Http {
                    url: super::without_credentials(url),
                    reason,
                }
            }
        }),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
