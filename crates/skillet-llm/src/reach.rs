//! Whether a provider's endpoint answers at all, for `skillet health`: a TCP connection to its
//! host and port, nothing sent, so no key is needed and nothing is billed.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use reqwest::Url;
use url::Host;

/// How long connecting to `base_url`'s host and port took, or why it could not connect
/// within `timeout`.
///
/// ```no_run
/// let took = skillet_llm::reach("http://127.0.0.1:11434/v1", std::time::Duration::from_secs(2));
/// ```
pub fn reach(base_url: &str, timeout: Duration) -> Result<Duration, String> {
    // Errors never quote the URL whole: its user, password or query may hold a key.
    let url = Url::parse(base_url).map_err(|e| format!("not a URL ({e})"))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| format!("{} names no port", redacted_url(base_url)))?;
    let started = Instant::now();
    let (host, addrs): (String, Vec<SocketAddr>) = match url.host() {
        Some(Host::Ipv4(ip)) => (ip.to_string(), vec![SocketAddr::new(ip.into(), port)]),
        Some(Host::Ipv6(ip)) => (format!("[{ip}]"), vec![SocketAddr::new(ip.into(), port)]),
        Some(Host::Domain(name)) => (
            name.to_owned(),
            (name, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {name}: {e}"))?
                .collect(),
        ),
        None => return Err(format!("{} names no host", redacted_url(base_url))),
    };
    let mut last = format!("{host} resolves to no address");
    for addr in addrs {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(format!("no answer from {host}:{port} within {timeout:?}"));
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(_) => return Ok(started.elapsed()),
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    Err(last)
}

/// `url` as it may be shown: without its user, password, query and fragment, which may hold
/// a key.
///
/// ```
/// let shown = skillet_llm::redacted_url("http://me:secret@127.0.0.1:8/v1?key=k#x");
/// assert_eq!(shown, "http://127.0.0.1:8/v1");
/// ```
pub fn redacted_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "(a base_url that is not a URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_port_is_reached_and_a_closed_one_is_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = format!("http://127.0.0.1:{port}/v1");
        assert!(reach(&url, Duration::from_secs(2)).is_ok());
        drop(listener);
        let err = reach(&url, Duration::from_secs(2)).unwrap_err();
        assert!(err.contains("cannot connect"), "{err}");
        assert!(reach("not a url", Duration::from_secs(1)).is_err());
    }

    #[test]
    fn an_ipv6_literal_is_reached_and_secrets_never_show() {
        let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
            eprintln!("SKIPPED an_ipv6_literal_is_reached: no IPv6 loopback on this machine");
            return;
        };
        let port = listener.local_addr().unwrap().port();
        assert!(reach(&format!("http://[::1]:{port}/v1"), Duration::from_secs(2)).is_ok());
        drop(listener);
        let err = reach(
            &format!("http://u:hunter2@[::1]:{port}/v1?key=hunter3"),
            Duration::from_secs(2),
        )
        .unwrap_err();
        assert!(!err.contains("hunter"), "{err}");
        let bad = reach("http://u:hunter2@/x?key=hunter3", Duration::from_secs(1)).unwrap_err();
        assert!(!bad.contains("hunter"), "{bad}");
    }
}
