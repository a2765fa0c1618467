//! Host unix sockets from a run without a private root (namespaces off, as under best-effort
//! isolation on a host that forbids user namespaces). Landlock does not check `connect` or
//! `sendto` on a pathname socket, so the filter refuses to make an `AF_UNIX` socket there:
//! each attack is checked by what the listening side saw (no connection, no datagram), and the
//! socket pairs programs rely on still work. With a private root the run's own unix sockets
//! work as before (that the host's stay hidden there is network.rs's and the CLI's redteam
//! tests' to show). Tests that need a kernel feature this machine lacks print why and skip.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use common::{Lab, full_sandbox, landlock_and_seccomp, text};
use skillet_sandbox::{NetworkPolicy, Outcome, SandboxPolicy};

const PYTHON: &str = "/usr/bin/python3";

/// Tries every way to a host socket it is given, and a few things that must keep working.
/// Prints `name result` per attempt: `ok`, or the errno's name.
const ATTACKS: &str = r#"
import asyncio, errno, os, socket, sys
from multiprocessing import Pipe

ws_sock, rw_sock, outside_sock, ws_link, ws_hardlink, dgram_path, abstract = sys.argv[1:8]
ws = os.path.dirname(ws_sock)
outside = os.path.dirname(outside_sock)
# The socket outside, spelled through the workspace's parent and through /proc.
dotdot = os.path.join(ws, "..", os.path.basename(outside), os.path.basename(outside_sock))
proc_root = "/proc/self/root" + outside_sock

def attempt(name, f):
    try:
        r = f()
        print(name, "ok" if r is None else r, flush=True)
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, str(e.errno)), flush=True)

def stream_to(path, kind=socket.SOCK_STREAM):
    def go():
        s = socket.socket(socket.AF_UNIX, kind)
        s.settimeout(2)
        s.connect(path)
        s.sendall(b"escaped\n")
    return go

def own_link():
    link = os.path.join(os.environ["TMPDIR"], "planted")
    os.symlink(outside_sock, link)
    stream_to(link)()

def dgram_socket():
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"escaped", dgram_path)

def pair_sendto(kind):
    def go():
        a, _b = socket.socketpair(socket.AF_UNIX, kind)
        a.sendto(b"escaped", dgram_path)
    return go

def pair_dgram_connect():
    a, _b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.connect(dgram_path)
    a.send(b"escaped")

def pair_works():
    a, b = socket.socketpair()
    a.sendall(b"ping")
    return "ok" if b.recv(4) == b"ping" else "wrong"

def pair_seqpacket_works():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a.send(b"ping")
    return "ok" if b.recv(4) == b"ping" else "wrong"

def pair_reconnect():
    a, b = socket.socketpair()
    b.close()
    a.connect(outside_sock)
    a.sendall(b"escaped\n")

def pair_stream_sendto():
    a, _b = socket.socketpair()
    a.sendto(b"escaped\n", outside_sock)

def own_server():
    path = os.path.join(os.environ["TMPDIR"], "own.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    c = socket.socket(socket.AF_UNIX)
    c.connect(path)
    c.sendall(b"hi")
    conn, _ = srv.accept()
    return "ok" if conn.recv(2) == b"hi" else "wrong"

def open_path():
    os.close(os.open(ws_sock, os.O_RDONLY))

def pipe_works():
    a, b = Pipe()
    a.send(7)
    return "ok" if b.recv() == 7 else "wrong"

attempt("connect_read_grant", stream_to(ws_sock))
attempt("connect_write_grant", stream_to(rw_sock))
attempt("connect_outside", stream_to(outside_sock))
attempt("connect_symlink", stream_to(ws_link))
attempt("connect_own_symlink", own_link)
attempt("connect_hardlink", stream_to(ws_hardlink))
attempt("connect_dotdot", stream_to(dotdot))
attempt("connect_proc_root", stream_to(proc_root))
attempt("connect_relative", lambda: (os.chdir(outside), stream_to("bus.sock")()))
attempt("connect_abstract", stream_to("\0" + abstract))
attempt("connect_seqpacket", stream_to(outside_sock, socket.SOCK_SEQPACKET))
attempt("dgram_sendto", dgram_socket)
attempt("pair_dgram_sendto", pair_sendto(socket.SOCK_DGRAM))
attempt("pair_raw_sendto", pair_sendto(socket.SOCK_RAW))
attempt("pair_dgram_connect", pair_dgram_connect)
attempt("pair_reconnect", pair_reconnect)
attempt("pair_stream_sendto", pair_stream_sendto)
attempt("open_socket_path", open_path)
attempt("own_server", own_server)
attempt("pair_works", pair_works)
attempt("pair_seqpacket_works", pair_seqpacket_works)
attempt("asyncio_works", lambda: asyncio.run(asyncio.sleep(0)))
attempt("pipe_works", pipe_works)
"#;

/// Sockets of the host the sandbox is pointed at, listening without blocking.
struct Host {
    lab: Lab,
    policy: SandboxPolicy,
    /// In the read grant (the workspace), the write grant, and a directory not granted.
    streams: Vec<(PathBuf, UnixListener)>,
    /// A symbolic link and a hard link in the workspace to the socket outside.
    link: PathBuf,
    hardlink: PathBuf,
    dgram: (PathBuf, UnixDatagram),
    abstract_name: String,
    /// Held so the name stays bound.
    abstract_listener: UnixListener,
}

impl Host {
    fn new(namespaces: bool) -> Host {
        let lab = Lab::new();
        let rw = lab.tmp.path().join("rw");
        std::fs::create_dir(&rw).unwrap();
        let mut policy = lab.policy();
        policy.namespaces = namespaces;
        policy.fs.write.push(rw.clone());
        let listen = |path: PathBuf| {
            let l = UnixListener::bind(&path).unwrap();
            l.set_nonblocking(true).unwrap();
            (path, l)
        };
        let streams = vec![
            listen(lab.ws.join("read.sock")),
            listen(rw.join("write.sock")),
            listen(lab.outside.join("bus.sock")),
        ];
        let link = lab.ws.join("bus-link");
        std::os::unix::fs::symlink(&streams[2].0, &link).unwrap();
        let hardlink = lab.ws.join("bus-hardlink");
        std::fs::hard_link(&streams[2].0, &hardlink).unwrap();
        // As the engine hands them over: the sockets found in the grants are masked.
        policy.fs.hidden = streams[..2].iter().map(|(p, _)| p.clone()).collect();
        policy.fs.hidden.push(hardlink.clone());
        let dgram_path = lab.outside.join("log.sock");
        let dgram = UnixDatagram::bind(&dgram_path).unwrap();
        dgram.set_nonblocking(true).unwrap();
        let abstract_name = format!(
            "skillet-reach-{}-{}",
            std::process::id(),
            u8::from(namespaces)
        );
        let abstract_listener = {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes())
                .unwrap();
            UnixListener::bind_addr(&addr).unwrap()
        };
        abstract_listener.set_nonblocking(true).unwrap();
        Host {
            lab,
            policy,
            streams,
            link,
            hardlink,
            dgram: (dgram_path, dgram),
            abstract_name,
            abstract_listener,
        }
    }

    async fn attack(&self, policy: &SandboxPolicy) -> Outcome {
        let arg = |p: &Path| p.display().to_string();
        let args = [
            "-c".to_owned(),
            ATTACKS.to_owned(),
            arg(&self.streams[0].0),
            arg(&self.streams[1].0),
            arg(&self.streams[2].0),
            arg(&self.link),
            arg(&self.hardlink),
            arg(&self.dgram.0),
            self.abstract_name.clone(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.lab.run(PYTHON, &args, policy).await
    }

    /// Panics if any listening socket was reached: a connection waiting, or a datagram.
    fn assert_untouched(&self, o: &Outcome) {
        let said = format!("stdout:\n{}stderr:\n{}", text(&o.stdout), text(&o.stderr));
        for (path, l) in &self.streams {
            assert!(
                l.accept().is_err(),
                "{} was connected to from the sandbox\n{said}",
                path.display()
            );
        }
        assert!(
            self.abstract_listener.accept().is_err(),
            "the abstract socket was connected to\n{said}"
        );
        let mut buf = [0u8; 64];
        assert!(
            self.dgram.1.recv(&mut buf).is_err(),
            "a datagram reached {}\n{said}",
            self.dgram.0.display()
        );
    }
}

/// The `name result` lines the script printed, in order.
fn results(o: &Outcome) -> Vec<(String, String)> {
    text(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, r)| (n.to_owned(), r.to_owned()))
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|&(n, r)| (n.to_owned(), r.to_owned()))
        .collect()
}

#[tokio::test]
async fn without_a_private_root_no_host_unix_socket_is_reached() {
    if !landlock_and_seccomp() {
        return;
    }
    let host = Host::new(false);
    // Online too: the host network does not open the host's unix sockets.
    let mut online = host.policy.clone();
    online.network = NetworkPolicy::Host;
    for policy in [&host.policy, &online] {
        let o = host.attack(policy).await;
        host.assert_untouched(&o);
        assert!(!o.denied_syscall, "killed by seccomp: {}", text(&o.stderr));
        assert_eq!(
            results(&o),
            expect(&[
                ("connect_read_grant", "EPERM"),
                ("connect_write_grant", "EPERM"),
                ("connect_outside", "EPERM"),
                ("connect_symlink", "EPERM"),
                ("connect_own_symlink", "EPERM"),
                ("connect_hardlink", "EPERM"),
                ("connect_dotdot", "EPERM"),
                ("connect_proc_root", "EPERM"),
                ("connect_relative", "EPERM"),
                ("connect_abstract", "EPERM"),
                ("connect_seqpacket", "EPERM"),
                ("dgram_sendto", "EPERM"),
                ("pair_dgram_sendto", "EPERM"),
                ("pair_raw_sendto", "EPERM"),
                ("pair_dgram_connect", "EPERM"),
                // A stream pair is connected from birth, to its own other end only.
                ("pair_reconnect", "EISCONN"),
                ("pair_stream_sendto", "EISCONN"),
                // Masked, as the engine lists it; a socket not masked answers ENXIO.
                ("open_socket_path", "EACCES"),
                // The run's own server too: a socket it cannot make it cannot listen on.
                ("own_server", "EPERM"),
                ("pair_works", "ok"),
                ("pair_seqpacket_works", "ok"),
                ("asyncio_works", "ok"),
                ("pipe_works", "ok"),
            ]),
            "network {:?}, {:?}; stderr: {}",
            policy.network,
            o.exit,
            text(&o.stderr)
        );
    }
}

#[tokio::test]
async fn with_a_private_root_the_runs_own_unix_sockets_still_work() {
    if !full_sandbox() {
        return;
    }
    let host = Host::new(true);
    let o = host.attack(&host.policy).await;
    host.assert_untouched(&o);
    let got = results(&o);
    let result = |name: &str| {
        got.iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.as_str())
            .unwrap_or_else(|| panic!("{name} not tried: {}", text(&o.stderr)))
    };
    // The host's sockets are hidden or covered; how each attempt fails is the mounts' business.
    for name in [
        "connect_read_grant",
        "connect_write_grant",
        "connect_outside",
        "connect_symlink",
        "connect_own_symlink",
        "connect_hardlink",
        "connect_dotdot",
        "connect_proc_root",
        "connect_relative",
        "connect_abstract",
        "dgram_sendto",
        "pair_dgram_sendto",
        "pair_dgram_connect",
    ] {
        assert_ne!(result(name), "ok", "{name}; stderr: {}", text(&o.stderr));
    }
    for name in [
        "own_server",
        "pair_works",
        "pair_seqpacket_works",
        "asyncio_works",
        "pipe_works",
    ] {
        assert_eq!(result(name), "ok", "{name}; stderr: {}", text(&o.stderr));
    }
}

/// A descriptor of a host socket held by a process outside (here the test itself, the
/// sandbox's ancestor) cannot be copied in with `pidfd_getfd`, with or without a private root.
#[tokio::test]
async fn a_host_processs_socket_cannot_be_taken_with_pidfd_getfd() {
    let mut modes = Vec::new();
    if landlock_and_seccomp() {
        modes.push(false);
    }
    if full_sandbox() {
        modes.push(true);
    }
    for namespaces in modes {
        let lab = Lab::new();
        let path = lab.outside.join("bus.sock");
        let bus = UnixListener::bind(&path).unwrap();
        let held = UnixStream::connect(&path).unwrap();
        let (mut server_side, _) = bus.accept().unwrap();
        server_side.set_nonblocking(true).unwrap();
        let script = r#"
import ctypes, os, sys
pid, fd = int(sys.argv[1]), int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
try:
    pidfd = os.pidfd_open(pid)
except OSError as e:
    print("pidfd_open", e.errno, flush=True)
    sys.exit(0)
print("pidfd_open ok", flush=True)
got = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
if got < 0:
    print("pidfd_getfd", ctypes.get_errno(), flush=True)
else:
    os.write(got, b"escaped\n")
    print("pidfd_getfd ok", flush=True)
"#;
        let mut policy = lab.policy();
        policy.namespaces = namespaces;
        let o = lab
            .run(
                PYTHON,
                &[
                    "-c",
                    script,
                    &std::process::id().to_string(),
                    &held.as_raw_fd().to_string(),
                ],
                &policy,
            )
            .await;
        let mut buf = Vec::new();
        let _ = server_side.read_to_end(&mut buf);
        let said = format!("stdout:\n{}stderr:\n{}", text(&o.stdout), text(&o.stderr));
        assert!(
            buf.is_empty(),
            "the sandbox wrote through the test's socket (namespaces {namespaces})\n{said}"
        );
        assert!(!text(&o.stdout).contains("pidfd_getfd ok"), "{said}");
        if !namespaces {
            // The test's pid is in sight without a PID namespace; the call itself is killed.
            assert!(text(&o.stdout).contains("pidfd_open ok"), "{said}");
            assert!(o.denied_syscall, "pidfd_getfd was not killed\n{said}");
        }
        drop(held);
    }
}
