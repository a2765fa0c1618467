//! Downloading an archive (over https, or http to this machine only) or copying it from a
//! `file://` URL into staging, hashing it on the way.
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

/// Copies the bytes `url` names to `dest`; returns their sha256, lowercase hex.
pub(crate) fn download(
    url: &str,
    dest: &Path,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<String, SourceError> {
    let parsed = Url::parse(url).map_err(|e| SourceError::Url {
        url: url.into(),
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
        "https" | "http" => {
            allowed(&parsed).map_err(|reason| SourceError::Url {
                url: url.into(),
                reason: reason.into(),
            })?;
            fetch_http(parsed, url, &mut sink, options, progress)?;
        }
        _ => {
            return Err(SourceError::Url {
                url: url.into(),
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

/// https anywhere; plain http only to this machine (a local mirror, a test), where nobody on
/// the network can watch or change it. The digest is checked either way.
fn allowed(url: &Url) -> Result<(), &'static str> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => {
            Err("plain http is refused except to this machine (127.0.0.1, localhost); use https://")
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
            source_name: self.url.into(),
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
        url: url.into(),
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
            url: url.into(),
            reason: "this is not a regular file; name the .tar.gz file itself".into(),
        });
    }
    let total = Some(metadata.len());
    if total.is_some_and(|t| t > sink.max) {
        return Err(sink.too_large());
    }
    let phase = Phase::start(progress, &format!("copying {url}"), total);
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

fn fetch_http(
    parsed: Url,
    url: &str,
    sink: &mut Sink<'_>,
    options: &FetchOptions,
    progress: &dyn Progress,
) -> Result<(), SourceError> {
    let http_err = |e: reqwest::Error| SourceError::Http {
        url: url.into(),
        reason: error_chain(&e),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SourceError::io("cannot start", "the download runtime", e))?;
    let client = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("more than 5 redirects")
            } else if let Err(reason) = allowed(attempt.url()) {
                let to = attempt.url().to_string();
                attempt.error(format!("a redirect to {to}: {reason}"))
            } else {
                attempt.follow()
            }
        }))
        .user_agent(concat!("skillet/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(http_err)?;
    let stall = options.stall_timeout;
    let stalled = || SourceError::Stalled {
        url: url.into(),
        seconds: stall.as_secs().max(1),
    };
    runtime.block_on(async {
        let mut response = tokio::time::timeout(stall, client.get(parsed).send())
            .await
            .map_err(|_| stalled())?
            .map_err(http_err)?;
        let status = response.status();
        if !status.is_success() {
            return Err(SourceError::HttpStatus {
                url: url.into(),
                status: status.to_string(),
                hint: match status.as_u16() {
                    404 | 410 => "; nothing is there (was the archive moved or removed?)",
                    401 | 403 => "; the server refused access",
                    500..=599 => "; the server failed, try again later",
                    _ => "",
                },
            });
        }
        let total = response.content_length();
        if total.is_some_and(|t| t > sink.max) {
            return Err(sink.too_large());
        }
        let phase = Phase::start(progress, &format!("downloading {url}"), total);
        loop {
            match tokio::time::timeout(stall, response.chunk()).await {
                Err(_) => return Err(stalled()),
                Ok(Err(e)) => return Err(http_err(e)),
                Ok(Ok(None)) => return Ok(()),
                Ok(Ok(Some(bytes))) => {
                    sink.write(&bytes)?;
                    phase.advance(bytes.len() as u64);
                }
            }
        }
    })
}

/// reqwest's top error says "error sending request"; the reason is further down.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
