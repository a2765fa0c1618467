//! Attacks through the network and sockets, each checked by what it would have done: a
//! connection a canary listener accepted, a message another sandbox received. Tests that need a
//! kernel feature this machine lacks print why and skip.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use common::{Lab, full_sandbox, text};
use skillet_sandbox::NetworkPolicy;

fn tcp_canary() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn accepted(l: &TcpListener) -> bool {
    let deadline = Instant::now() + Duration::from_millis(300);
    while Instant::now() < deadline {
        if let Ok((mut s, _)) = l.accept() {
            let mut buf = String::new();
            let _ = s.set_nonblocking(false);
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = s.read_to_string(&mut buf);
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[tokio::test]
async fn tcp_to_the_host_fails_offline_and_works_when_granted() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let (listener, port) = tcp_canary();
    let script = format!("echo hello > /dev/tcp/127.0.0.1/{port}");
    let o = lab.bash(&lab.policy(), &script).await;
    assert!(
        !accepted(&listener),
        "a connection got out with networking off: {}",
        text(&o.stderr)
    );
    let mut online = lab.policy();
    online.network = NetworkPolicy::Host;
    let o = lab.bash(&online, &script).await;
    assert!(
        accepted(&listener),
        "networking on must reach the host: {}",
        text(&o.stderr)
    );
    // A port list allows only those ports.
    let (other, other_port) = tcp_canary();
    let mut ports = lab.policy();
    ports.network = NetworkPolicy::TcpPorts(vec![port]);
    lab.bash(
        &ports,
        &format!("echo x > /dev/tcp/127.0.0.1/{other_port}; echo y > /dev/tcp/127.0.0.1/{port}"),
    )
    .await;
    assert!(!accepted(&other), "a port not on the list was reached");
    assert!(accepted(&listener), "a listed port must be reachable");
}

#[tokio::test]
async fn udp_and_dns_lookups_get_nowhere_offline() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let canary = UdpSocket::bind("127.0.0.1:0").unwrap();
    canary
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let port = canary.local_addr().unwrap().port();
    let o = lab
        .bash(
            &lab.policy(),
            &format!(
                "echo query > /dev/udp/127.0.0.1/{port}; getent hosts example.com && echo RESOLVED"
            ),
        )
        .await;
    let mut buf = [0u8; 64];
    assert!(canary.recv(&mut buf).is_err(), "a datagram got out");
    assert!(!text(&o.stdout).contains("RESOLVED"));
}

#[tokio::test]
async fn unix_sockets_outside_are_unreachable() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let path_outside = lab.outside.join("agent.sock");
    let in_tmp = std::env::temp_dir().join(format!("skillet-test-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&in_tmp);
    let abstract_name = format!("skillet-test-{}", std::process::id());
    let listeners = [
        UnixListener::bind(&path_outside).unwrap(),
        UnixListener::bind(&in_tmp).unwrap(),
        {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes())
                .unwrap();
            UnixListener::bind_addr(&addr).unwrap()
        },
    ];
    for l in &listeners {
        l.set_nonblocking(true).unwrap();
    }
    let code = format!(
        r#"use IO::Socket::UNIX; for my $p ("{}", "{}", "\0{}") {{ my $s = IO::Socket::UNIX->new(Peer => $p); print $s "hi\n" if $s; print "connected $p\n" if $s; }}"#,
        path_outside.display(),
        in_tmp.display(),
        abstract_name
    );
    let o = lab.perl(&lab.policy(), &code).await;
    std::thread::sleep(Duration::from_millis(100));
    for l in &listeners {
        assert!(
            l.accept().is_err(),
            "a host unix socket was reached: {}",
            text(&o.stdout)
        );
    }
    let _ = std::fs::remove_file(&in_tmp);
}

#[tokio::test]
async fn two_sandboxes_share_nothing_through_dev_shm() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let policy = lab.policy();
    let (writer, reader) = tokio::join!(
        lab.sh(
            &policy,
            "echo channel > /dev/shm/chan; echo channel > /tmp/chan; sleep 1"
        ),
        lab.sh(&policy, "sleep 0.3; cat /dev/shm/chan /tmp/chan"),
    );
    assert!(writer.stderr.is_empty(), "{}", text(&writer.stderr));
    assert!(!text(&reader.stdout).contains("channel"));
}

#[tokio::test]
async fn two_sandboxes_cannot_meet_on_an_abstract_socket() {
    // Offline runs share one empty network namespace (as root and as a user); Landlock's scope
    // must still keep each run's abstract sockets to itself.
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let policy = lab.policy();
    let name = format!("skillet-meet-{}", std::process::id());
    let listener = format!(
        r#"use Socket; socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
        bind($s, pack_sockaddr_un("\0{name}")) or die "bind: $!"; listen($s, 5) or die "listen: $!";
        $| = 1; print "bound\n"; sleep 2;"#
    );
    let connector = format!(
        r#"use Socket; select(undef, undef, undef, 0.5);
        socket(my $own, AF_UNIX, SOCK_STREAM, 0); bind($own, pack_sockaddr_un("\0own-{name}")) or die "bind: $!";
        listen($own, 1); socket(my $c1, AF_UNIX, SOCK_STREAM, 0);
        print connect($c1, pack_sockaddr_un("\0own-{name}")) ? "own ok\n" : "own failed: $!\n";
        socket(my $c, AF_UNIX, SOCK_STREAM, 0);
        print connect($c, pack_sockaddr_un("\0{name}")) ? "met\n" : "apart: $!\n";"#
    );
    let (l, c) = tokio::join!(lab.perl(&policy, &listener), lab.perl(&policy, &connector));
    assert_eq!(text(&l.stdout).trim(), "bound", "{}", text(&l.stderr));
    let said = text(&c.stdout);
    assert!(said.contains("own ok"), "{said} {}", text(&c.stderr));
    assert!(said.contains("apart"), "{said}");
}

#[tokio::test]
async fn offline_runs_share_one_empty_network_namespace_apart_from_the_host() {
    // What the abstract-socket test above relies on: offline runs do share a namespace (as root
    // and as a user), so it is Landlock's scope that keeps them apart, not separate namespaces.
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let policy = lab.policy();
    let read = "readlink /proc/self/ns/net; ip -o link 2>/dev/null || cat /proc/net/dev";
    let (a, b) = tokio::join!(lab.sh(&policy, read), lab.sh(&policy, read));
    let (a, b) = (text(&a.stdout), text(&b.stdout));
    let ns = |s: &str| s.lines().next().unwrap_or_default().to_owned();
    let host = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert!(ns(&a).starts_with("net:["), "{a}");
    assert_eq!(
        ns(&a),
        ns(&b),
        "two offline runs are in different network namespaces"
    );
    assert_ne!(
        ns(&a),
        host.to_string_lossy(),
        "an offline run is in the host's namespace"
    );
    // Nothing in it but a loopback that stays down.
    assert!(!a.contains("eth") && !a.contains("ens"), "{a}");
}
