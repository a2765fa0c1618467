//! Downloads from real HTTP servers on loopback (the source tests' server), with the crate's
//! own seam making a chosen port stand for a server on the internet.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::*;
use crate::source::NoProgress;

#[allow(unreachable_pub)]
#[path = "../../tests/sources_support/mod.rs"]
mod support;
use support::{Route, serve};

fn limits() -> Limits {
    Limits {
        connect: Duration::from_secs(2),
        stall: Duration::from_secs(5),
        total: Some(Duration::from_secs(20)),
        max_bytes: 1024 * 1024,
    }
}

fn fetch(url: &str, limits: &Limits, policy: &AddressPolicy) -> Result<Vec<u8>, DownloadError> {
    let mut body = Vec::new();
    let mut sink = |chunk: &[u8]| {
        body.extend_from_slice(chunk);
        Ok::<(), ()>(())
    };
    match get(url, limits, policy, &NoProgress, &mut sink) {
        Ok(()) => Ok(body),
        Err(Stop::Download(e)) => Err(e),
        Err(Stop::Sink(())) => panic!("the sink never fails"),
    }
}

/// A server holding something only this machine should read.
fn secret_server() -> support::Server {
    serve(BTreeMap::from([(
        "/secret".into(),
        Route::Body(b"SECRET".to_vec()),
    )]))
}

/// Every way of naming this machine or a private network, as a redirect from a server on the
/// internet: none is followed, and the error names where it led.
#[test]
fn a_remote_server_cannot_redirect_to_a_local_or_private_address() {
    let secret = secret_server();
    let p = secret.port;
    let targets = [
        format!("http://127.0.0.1:{p}/secret"),
        format!("http://localhost:{p}/secret"),
        format!("https://LocalHost:{p}/secret"),
        format!("http://[::1]:{p}/secret"),
        format!("https://127.1:{p}/secret"),
        format!("https://2130706433:{p}/secret"),
        format!("https://0x7f.1:{p}/secret"),
        format!("https://[::ffff:127.0.0.1]:{p}/secret"),
        format!("https://0.0.0.0:{p}/secret"),
        format!("https://[::]:{p}/secret"),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://[::ffff:169.254.169.254]/latest/meta-data/".to_owned(),
        "https://[fe80::1]/".to_owned(),
        "https://10.0.0.1/".to_owned(),
        "https://172.16.0.1/".to_owned(),
        "https://192.168.1.1/".to_owned(),
        "https://[fc00::1]/".to_owned(),
    ];
    let routes = targets
        .iter()
        .enumerate()
        .map(|(i, to)| (format!("/r{i}"), Route::Redirect(to.clone())))
        .collect();
    let origin = serve(routes);
    let policy = AddressPolicy {
        public_loopback_ports: vec![origin.port],
    };
    for (i, to) in targets.iter().enumerate() {
        let e = fetch(&format!("{}/r{i}", origin.base), &limits(), &policy)
            .expect_err(&format!("followed a redirect to {to}"));
        assert!(matches!(e, DownloadError::Refused(_)), "{to}: {e:?}");
        let text = e.to_string();
        assert!(
            text.contains("an address on this machine or its private network"),
            "{to}: {text}"
        );
        assert!(text.contains("a redirect to"), "{to}: {text}");
    }
}

/// A chain through another public server to a local one is refused at the local step.
#[test]
fn a_redirect_chain_through_a_public_server_is_refused_at_the_local_step() {
    let secret = secret_server();
    let hop = serve(BTreeMap::from([(
        "/hop".into(),
        Route::Redirect(format!("http://localhost:{}/secret", secret.port)),
    )]));
    let origin = serve(BTreeMap::from([(
        "/start".into(),
        Route::Redirect(format!("{}/hop", hop.base)),
    )]));
    let policy = AddressPolicy {
        public_loopback_ports: vec![origin.port, hop.port],
    };
    let e = fetch(&format!("{}/start", origin.base), &limits(), &policy).unwrap_err();
    assert!(e.to_string().contains("localhost"), "{e}");
    assert!(matches!(e, DownloadError::Refused(_)), "{e:?}");
}

/// Between servers on the internet, redirects are followed as before.
#[test]
fn a_remote_server_may_redirect_to_another_remote_one() {
    let other = secret_server();
    let origin = serve(BTreeMap::from([(
        "/go".into(),
        Route::Redirect(format!("{}/secret", other.base)),
    )]));
    let policy = AddressPolicy {
        public_loopback_ports: vec![origin.port, other.port],
    };
    let body = fetch(&format!("{}/go", origin.base), &limits(), &policy).unwrap();
    assert_eq!(body, b"SECRET");
}

/// The user's own local URL (a local index, a mirror) may lead anywhere on this machine.
#[test]
fn the_users_own_local_url_may_redirect_on_this_machine() {
    let secret = secret_server();
    for to in [
        format!("http://127.0.0.1:{}/secret", secret.port),
        format!("http://localhost:{}/secret", secret.port),
    ] {
        let origin = serve(BTreeMap::from([("/go".into(), Route::Redirect(to))]));
        let body = fetch(
            &format!("{}/go", origin.base),
            &limits(),
            &AddressPolicy::default(),
        )
        .unwrap();
        assert_eq!(body, b"SECRET");
    }
}

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

#[test]
fn a_redirect_to_plain_http_elsewhere_is_not_followed() {
    let origin = serve(BTreeMap::from([
        (
            "/a".into(),
            Route::Redirect("http://example.test/index.json".into()),
        ),
        (
            "/b".into(),
            Route::Redirect("http://127.0.0.1.example.test/index.json".into()),
        ),
    ]));
    for path in ["/a", "/b"] {
        let e = fetch(
            &format!("{}{path}", origin.base),
            &limits(),
            &AddressPolicy::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("plain http is refused"), "{e}");
    }
}

/// A server that accepts, reads the request, and then says nothing.
#[test]
fn a_silent_server_is_given_up_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = conn.read(&mut buf);
        std::thread::sleep(Duration::from_secs(10));
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
    });
    let limits = Limits {
        stall: Duration::from_secs(1),
        ..limits()
    };
    let started = Instant::now();
    let e = fetch(
        &format!("http://127.0.0.1:{port}/index.json"),
        &limits,
        &AddressPolicy::default(),
    )
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(e.to_string().contains("no answer for 1 s"), "{e}");
}

#[test]
fn a_body_past_the_cap_is_refused_while_streaming() {
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
    let limits = Limits {
        max_bytes: 1024,
        ..limits()
    };
    let e = fetch(
        &format!("http://127.0.0.1:{port}/i.json"),
        &limits,
        &AddressPolicy::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("larger than 1024 bytes"), "{e}");
}
