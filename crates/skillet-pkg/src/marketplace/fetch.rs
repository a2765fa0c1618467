//! Downloading an index over HTTP: bounded in time and size, and only over https (plain http
//! only to this machine, for a server a test or a developer runs on loopback).

use std::time::Duration;

use super::MarketplaceError;

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

/// Whether `url` may be fetched: https anywhere, http only to a loopback address (an index
/// over plain http could be rewritten by anyone on the way to point at other packages).
pub(super) fn check_url(url: &str) -> Result<reqwest::Url, MarketplaceError> {
    let refused = |why: &str| MarketplaceError::BadUrl {
        url: url.to_owned(),
        why: why.to_owned(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| refused(&e.to_string()))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(refused(
            "plain http is only accepted for this machine (127.0.0.1, ::1, localhost): use https",
        )),
        other => Err(refused(&format!(
            "`{other}:` is not a web address: use https://…/index.json, a git URL or a folder"
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The body at `url`, or why not.
pub(super) fn download(url: &str, options: &FetchOptions) -> Result<Vec<u8>, MarketplaceError> {
    let parsed = check_url(url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| MarketplaceError::Download {
            url: url.to_owned(),
            why: format!("cannot start the HTTP client: {e}"),
        })?;
    runtime.block_on(download_async(parsed, url, options))
}

async fn download_async(
    parsed: reqwest::Url,
    url: &str,
    options: &FetchOptions,
) -> Result<Vec<u8>, MarketplaceError> {
    let failed = |why: String| MarketplaceError::Download {
        url: url.to_owned(),
        why,
    };
    // A redirect may not lead to plain http elsewhere, which the address itself could not.
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            attempt.error("more than 5 redirects")
        } else if check_url(attempt.url().as_str()).is_err() {
            attempt.error("redirected to plain http on another machine")
        } else {
            attempt.follow()
        }
    });
    let client = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .read_timeout(options.read_timeout)
        .timeout(options.timeout)
        .redirect(redirects)
        .user_agent(concat!("skillet/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| failed(format!("cannot start the HTTP client: {e}")))?;
    let transport = |e: reqwest::Error| {
        if e.is_timeout() {
            failed(format!(
                "no answer in time (connect {} s, silence {} s, whole {} s): try again later, or check the address",
                options.connect_timeout.as_secs(),
                options.read_timeout.as_secs(),
                options.timeout.as_secs()
            ))
        } else {
            failed(format!(
                "{}: check the address and your connection",
                chain(&e)
            ))
        }
    };
    let mut response = client.get(parsed).send().await.map_err(transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!(
            "the server answered {status}{}",
            if status == reqwest::StatusCode::NOT_FOUND {
                ": check the address (it should name the index JSON file itself)"
            } else {
                ""
            }
        )));
    }
    let too_big = || {
        failed(format!(
            "it is larger than {} bytes, more than an index should be",
            options.max_bytes
        ))
    };
    if response
        .content_length()
        .is_some_and(|n| n > options.max_bytes)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() as u64 + chunk.len() as u64 > options.max_bytes {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error and its causes on one line: reqwest's own message is often only "error sending
/// request".
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn only_https_or_loopback_http_is_fetched() {
        assert!(check_url("https://example.test/index.json").is_ok());
        assert!(check_url("http://127.0.0.1:8080/index.json").is_ok());
        assert!(check_url("http://[::1]/index.json").is_ok());
        assert!(check_url("http://localhost/index.json").is_ok());
        for bad in [
            "http://example.test/index.json",
            "http://127.0.0.1.example.test/index.json",
            "ftp://example.test/index.json",
            "file:///etc/passwd",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    /// A server that accepts, reads the request, and then says nothing.
    #[test]
    fn a_silent_server_is_given_up_on_with_a_timeout_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            std::thread::sleep(Duration::from_secs(10));
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
        });
        let options = FetchOptions {
            read_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            ..FetchOptions::default()
        };
        let started = std::time::Instant::now();
        let e = download(&format!("http://127.0.0.1:{port}/index.json"), &options).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(8));
        assert!(e.to_string().contains("no answer in time"), "{e}");
    }

    #[test]
    fn a_redirect_to_plain_http_elsewhere_is_not_followed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for target in [
                "http://example.test/index.json",
                "http://127.0.0.1.example.test/index.json",
            ] {
                let (mut conn, _) = listener.accept().unwrap();
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf);
                let _ = write!(
                    conn,
                    "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        for _ in 0..2 {
            let e = download(
                &format!("http://127.0.0.1:{port}/index.json"),
                &FetchOptions::default(),
            )
            .unwrap_err();
            assert!(e.to_string().contains("redirected to plain http"), "{e}");
        }
    }

    #[test]
    fn a_body_past_the_cap_is_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            // No Content-Length: the cap must hold while streaming too.
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let _ = conn.write_all(&vec![b' '; 64 * 1024]);
        });
        let options = FetchOptions {
            max_bytes: 1024 * 1024 / 64,
            ..FetchOptions::default()
        };
        let e = download(&format!("http://127.0.0.1:{port}/i.json"), &options).unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
    }
}
