//! Whether a provider's endpoint answers at all, for `skillet health`: a TCP connection to its
//! host and port, nothing sent, so no key is needed and nothing is billed.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// How long connecting to `base_url`'s host and port took, or why it could not connect
/// within `timeout`.
///
/// ```no_run
/// let took = skillet_llm::reach("http://127.0.0.1:11434/v1", std::time::Duration::from_secs(2));
/// ```
pub fn reach(base_url: &str, timeout: Duration) -> Result<Duration, String> {
    let url =
        reqwest::Url::parse(base_url).map_err(|e| format!("{base_url:?} is not a URL: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| format!("{base_url} names no host"))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| format!("{base_url} names no port"))?;
    let started = Instant::now();
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
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
}
