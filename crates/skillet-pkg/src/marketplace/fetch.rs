//! Downloading an index, through the crate's one web fetcher (`crate::download`), under the
//! limits a user may set.

use std::time::Duration;

use super::MarketplaceError;
use crate::download::{self, AddressPolicy, DownloadError, Limits, Stop};
use crate::source::NoProgress;

/// Limits on downloading an index.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long the server may stay silent while sending.
    pub read_timeout: Duration,
    /// How long the whole download may take.
    pub timeout: Duration,
    /// The largest index accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(120),
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Whether `url` may be fetched: https anywhere, http only to this machine.
pub(super) fn check_url(url: &str) -> Result<reqwest::Url, MarketplaceError> {
    download::check_url(url).map_err(|e| MarketplaceError::BadUrl {
        url: crate::source::without_credentials(url),
        why: e.to_string(),
    })
}

/// The body at `url`, or why not.
pub(super) fn download(url: &str, options: &FetchOptions) -> Result<Vec<u8>, MarketplaceError> {
    check_url(url)?;
    let limits = Limits {
        connect: options.connect_timeout,
        stall: options.read_timeout,
        total: Some(options.timeout),
        max_bytes: options.max_bytes,
    };
    let mut body = Vec::new();
    let mut sink = |chunk: &[u8]| {
        body.extend_from_slice(chunk);
        Ok::<(), std::convert::Infallible>(())
    };
    match download::get(
        url,
        &limits,
        &AddressPolicy::default(),
        &NoProgress,
        &mut sink,
    ) {
        Ok(()) => Ok(body),
        // A 404 is most often the address of the page around the index, not the file.
        Err(Stop::Download(DownloadError::Status { status, .. })) if status.starts_with("404") => {
            Err(MarketplaceError::Download {
                url: crate::source::without_credentials(url),
                why: format!(
                    "the server answered {status}: check the address (it should name the index JSON file itself)"
                ),
            })
        }
        Err(Stop::Download(e)) => Err(MarketplaceError::Download {
            url: crate::source::without_credentials(url),
            why: e.to_string(),
        }),
        Err(Stop::Sink(never)) => match never {},
    }
}
