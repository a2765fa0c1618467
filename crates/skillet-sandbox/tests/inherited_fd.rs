//! The one descriptor a run may be handed (`ProcessSpec::inherit_fd`): it arrives at
//! `INHERITED_FD`, connected, with and without namespaces; nothing else above 2 does, not even
//! a descriptor the supervisor left inheritable; and a run handed nothing has nothing above 2.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;

use common::{Lab, full_sandbox, text, unconfined};
use skillet_sandbox::{INHERITED_FD, ProcessSpec, SandboxPolicy, StdinSource};

/// Lists the open descriptors above 2, then, when it has one at 3, answers what it reads there.
const PROBE: &str = r#"
import os
fds = []
for fd in range(3, 1024):
    try:
        os.fstat(fd)
        fds.append(fd)
    except OSError:
        pass
print(fds)
if 3 in fds:
    got = os.read(3, 4)
    os.write(3, b"pong:" + got)
"#;

fn isolations(lab: &Lab) -> Vec<(&'static str, SandboxPolicy)> {
    let full = lab.policy();
    let mut flat = full.clone();
    flat.namespaces = false;
    let none = unconfined(full.clone());
    vec![
        ("namespaces", full),
        ("no namespaces", flat),
        ("unconfined", none),
    ]
}

/// A descriptor the supervisor holds without close-on-exec: a careless library's.
fn leaked(lab: &Lab) -> OwnedFd {
    let file = std::fs::File::create(lab.outside.join("leaked")).unwrap();
    let fd = rustix::io::dup(&file).unwrap();
    assert!(
        !rustix::io::fcntl_getfd(&fd)
            .unwrap()
            .contains(rustix::io::FdFlags::CLOEXEC)
    );
    fd
}

async fn probe(lab: &Lab, policy: &SandboxPolicy, inherit: Option<OwnedFd>) -> (String, String) {
    let spec = ProcessSpec {
        program: "python3".into(),
        args: vec!["-c".into(), PROBE.into()],
        cwd: lab.ws.clone(),
        stdin: StdinSource::Null,
        inherit_fd: inherit.map(Into::into),
    };
    let out = skillet_sandbox::run(&spec, policy, None).await.unwrap();
    (text(&out.stdout), text(&out.stderr))
}

#[tokio::test]
async fn the_handed_descriptor_arrives_at_its_number_and_nothing_else_does() {
    if !full_sandbox() {
        return;
    }
    assert_eq!(INHERITED_FD, 3);
    let lab = Lab::new();
    let _leaked = leaked(&lab);
    for (what, policy) in isolations(&lab) {
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        ours.write_all(b"ping").unwrap();
        let (stdout, stderr) = probe(&lab, &policy, Some(OwnedFd::from(theirs))).await;
        assert_eq!(stdout.trim(), "[3]", "{what}: {stderr}");
        let mut answer = String::new();
        ours.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "pong:ping", "{what}: the socket works both ways");
    }
}

#[tokio::test]
async fn a_run_handed_nothing_has_nothing_above_stderr() {
    if !full_sandbox() {
        return;
    }
    let lab = Lab::new();
    let _leaked = leaked(&lab);
    for (what, policy) in isolations(&lab) {
        let (stdout, stderr) = probe(&lab, &policy, None).await;
        assert_eq!(stdout.trim(), "[]", "{what}: {stderr}");
    }
}
