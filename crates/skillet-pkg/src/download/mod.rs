//! The one way this crate fetches a URL over the web (an index, an archive): the client, its
//! time and size limits, which schemes and redirects are followed, which addresses may be
//! reached, progress, and the wording of every failure.
//!
//! https anywhere; plain http only to this machine, where nobody on the network can watch or
//! change it. A URL on the internet may not lead, by redirect or by a name that resolves so,
//! to this machine or its private network (see [`address`]).

mod address;
#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;

use crate::source::Progress;
use crate::source::progress::Phase;
pub(crate) use address::{AddressPolicy, is_local_ip};
use address::{PublicResolver, Reach};

/// The limits of one download.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// How long connecting may take.
    pub(crate) connect: Duration,
    /// How long the server may stay silent, before answering or while sending.
    pub(crate) stall: Duration,
    /// How long the whole download may take, when bounded.
    pub(crate) total: Option<Duration>,
    /// The most bytes accepted.
    pub(crate) max_bytes: u64,
}

/// Why a download failed, worded for the user.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DownloadError {
    /// Not a URL this crate fetches.
    #[error("{0}")]
    BadUrl(String),
    /// A redirect or an address that may not be followed.
    #[error("{0}")]
    Refused(String),
    /// The server answered, but not with the document.
    #[error("the server answered HTTP {status}{hint}")]
    Status {
        /// As "404 Not Found".
        status: String,
        /// Advice for some statuses, starting with "; ".
        hint: &'static str,
    },
    /// The server stopped answering.
    #[error("no answer for {seconds} s: try again later, or check the address")]
    Stalled {
        /// The silence allowed.
        seconds: u64,
    },
    /// Past the size cap.
    #[error("it is larger than {max_bytes} bytes, more than this download may be")]
    TooLarge {
        /// The cap.
        max_bytes: u64,
    },
    /// Anything else on the way (connection refused, TLS, a timeout of the whole download).
    #[error("{0}: check the address and your connection")]
    Transport(String),
}

/// Why [`get`] stopped: a failed download, or the sink's own error.
#[derive(Debug)]
pub(crate) enum Stop<E> {
    /// The download failed.
    Download(DownloadError),
    /// The sink refused a chunk.
    Sink(E),
}

impl<E> From<DownloadError> for Stop<E> {
    fn from(e: DownloadError) -> Self {
        Stop::Download(e)
    }
}

/// Checks `url` before anything is sent: https anywhere, http only to this machine.
pub(crate) fn check_url(url: &str) -> Result<Url, DownloadError> {
    let parsed = Url::parse(url).map_err(|e| DownloadError::BadUrl(format!("not a URL ({e})")))?;
    check_scheme(&parsed)?;
    Ok(parsed)
}

fn check_scheme(url: &Url) -> Result<(), DownloadError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(url) => Ok(()),
        "http" => Err(DownloadError::BadUrl(
            "plain http is refused except to this machine (127.0.0.1, ::1, localhost), as anyone on the way could change what it sends: use https".into(),
        )),
        other => Err(DownloadError::BadUrl(format!(
            "`{other}:` is not a web address skillet downloads from: use https://"
        ))),
    }
}

/// Whether plain http may go to `url`: a loopback address or `localhost` (the address check
/// still applies to where that leads).
fn is_loopback_host(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Downloads `url`, handing each chunk to `sink`; `what` names it for progress
/// ("downloading …").
pub(crate) fn get<E>(
    url: &str,
    limits: &Limits,
    policy: &AddressPolicy,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    let parsed = check_url(url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DownloadError::Transport(format!("cannot start the HTTP client: {e}")))?;
    let reach = Reach::of_origin(&parsed, policy);
    let refused: Arc<Mutex<Option<String>>> = Arc::default();
    let client = client(limits, &reach, &refused)?;
    let refusal = || {
        refused
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .map(DownloadError::Refused)
    };
    let transport = |e: reqwest::Error| {
        refusal().unwrap_or_else(|| {
            if e.is_timeout() {
                DownloadError::Transport(format!(
                    "the download took longer than its limit of {} s",
                    limits.total.unwrap_or_default().as_secs()
                ))
            } else {
                DownloadError::Transport(error_chain(&e))
            }
        })
    };
    let stalled = || DownloadError::Stalled {
        seconds: limits.stall.as_secs().max(1),
    };
    runtime.block_on(async {
        let mut response = tokio::time::timeout(limits.stall, client.get(parsed).send())
            .await
            .map_err(|_| stalled())?
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(DownloadError::Status {
                status: status.to_string(),
                hint: match status.as_u16() {
                    404 | 410 => "; nothing is there (was it moved or removed?)",
                    401 | 403 => "; the server refused access",
                    500..=599 => "; the server failed, try again later",
                    _ => "",
                },
            }
            .into());
        }
        let too_big = DownloadError::TooLarge {
            max_bytes: limits.max_bytes,
        };
        let total = response.content_length();
        if total.is_some_and(|t| t > limits.max_bytes) {
            return Err(too_big.into());
        }
        let phase = Phase::start(progress, &format!("downloading {url}"), total);
        let mut received = 0u64;
        loop {
            match tokio::time::timeout(limits.stall, response.chunk()).await {
                Err(_) => return Err(stalled().into()),
                Ok(Err(e)) => return Err(transport(e).into()),
                Ok(Ok(None)) => return Ok(()),
                Ok(Ok(Some(bytes))) => {
                    received += bytes.len() as u64;
                    if received > limits.max_bytes {
                        return Err(too_big.into());
                    }
                    sink(&bytes).map_err(Stop::Sink)?;
                    phase.advance(bytes.len() as u64);
                }
            }
        }
    })
}

/// The client for one download: its redirects and, from a public origin, its resolver keep
/// it off local addresses.
fn client(
    limits: &Limits,
    reach: &Reach,
    refused: &Arc<Mutex<Option<String>>>,
) -> Result<reqwest::Client, DownloadError> {
    let for_redirects = reach.clone();
    let redirect_refused = Arc::clone(refused);
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        let why = if attempt.previous().len() >= 5 {
            Some("more than 5 redirects".to_owned())
        } else if let Err(e) = check_scheme(attempt.url()) {
            Some(format!("a redirect to {}: {e}", attempt.url()))
        } else {
            for_redirects.refuse(attempt.url())
        };
        match why {
            Some(why) => {
                if let Ok(mut slot) = redirect_refused.lock() {
                    *slot = Some(why.clone());
                }
                attempt.error(why)
            }
            None => attempt.follow(),
        }
    });
    let mut builder = reqwest::Client::builder()
        .connect_timeout(limits.connect)
        .redirect(redirects)
        .user_agent(concat!("skillet/", env!("CARGO_PKG_VERSION")));
    if let Some(total) = limits.total {
        builder = builder.timeout(total);
    }
    if let Reach::PublicOnly(policy) = reach {
        builder = builder.dns_resolver(Arc::new(PublicResolver {
            policy: policy.clone(),
            proxies: address::proxy_hosts(),
            refused: Arc::clone(refused),
        }));
    }
    builder
        .build()
        .map_err(|e| DownloadError::Transport(format!("cannot start the HTTP client: {e}")))
}

/// reqwest's top error says "error sending request"; the reason is further down.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = inner.source();
    }
    text
}
