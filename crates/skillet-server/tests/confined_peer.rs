//! The daemon's last line: a confined process that reaches its socket anyway is refused any
//! override that weakens confinement. The client runs in the real sandbox, with and without
//! namespaces (without them nothing hides the socket: Landlock does not govern connecting to a
//! named socket), against a real daemon serving a real workspace.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillet_registry::Environment;
use skillet_sandbox::{ProcessSpec, SandboxPolicy, StdinSource};
use skillet_server::{DaemonOptions, SocketPaths};

const CLIENT: &str = r#"import os, socket
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.environ["SOCK"])
except OSError as e:
    print("CONNECT-FAILED", e)
    raise SystemExit(0)
s.sendall(os.environ["REQ"].encode() + b"\n")
print(s.makefile().readline().strip())
"#;

fn python() -> &'static str {
    ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("python3")
}

struct Setup {
    _tmp: tempfile::TempDir,
    ws: PathBuf,
    sock_dir: PathBuf,
    socket: PathBuf,
}

/// A workspace with a python session skill, and a daemon serving it on a socket of its own.
fn setup() -> Setup {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let ws = tmp.path().join("ws");
    let home = tmp.path().join("home");
    let sock_dir = tmp.path().join("sock");
    std::fs::create_dir_all(ws.join(".git")).unwrap();
    std::fs::create_dir_all(ws.join(".skillet/skills")).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&sock_dir).unwrap();
    std::fs::set_permissions(&sock_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        ws.join(".skillet/skills/py.json"),
        json!({"name": "py", "description": "d", "type": "code_session", "command": python()})
            .to_string(),
    )
    .unwrap();
    let socket = sock_dir.join("d.sock");
    let options = DaemonOptions {
        paths: SocketPaths::for_user(Some(&socket)).unwrap(),
        idle_timeout: Duration::from_secs(60),
        store: None,
        env: Environment {
            cwd: ws.clone(),
            home: Some(home.clone()),
            config_home: Some(home.join(".config")),
            data_home: Some(home.join(".local/share")),
        },
        http: None,
    };
    // The daemon's future stays on one thread, as `skillet serve` runs it.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(skillet_server::serve(options))
    });
    let started = Instant::now();
    while !socket.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the daemon listens"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Setup {
        _tmp: tmp,
        ws,
        sock_dir,
        socket,
    }
}

/// Runs the client confined by `policy` with `request`; returns its answer line.
fn confined_client(
    rt: &tokio::runtime::Runtime,
    s: &Setup,
    mut policy: SandboxPolicy,
    request: &Value,
) -> String {
    policy.env.push(("SOCK".into(), s.socket.clone().into()));
    policy.env.push(("REQ".into(), request.to_string().into()));
    let spec = ProcessSpec {
        program: python().into(),
        args: vec!["-c".into(), CLIENT.into()],
        cwd: s.ws.clone(),
        stdin: StdinSource::Null,
        inherit_fd: None,
    };
    let out = rt
        .block_on(skillet_sandbox::run(&spec, &policy, None))
        .unwrap_or_else(|e| panic!("the confined client did not start: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        !stdout.is_empty(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn start(ws: &Path, overrides: Value) -> Value {
    json!({"id": 7, "method": "session.start",
        "params": {"skill": "py", "caller_dir": ws, "overrides": overrides}})
}

#[test]
fn a_confined_process_that_reaches_the_socket_is_refused() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = setup();
    let mut without_namespaces = SandboxPolicy::new(Duration::from_secs(10));
    without_namespaces.fs.read.push(s.ws.clone());
    without_namespaces.namespaces = false;
    // With namespaces the socket is only there when its directory is granted: suppose it was.
    let mut granted = SandboxPolicy::new(Duration::from_secs(10));
    granted.fs.read.extend([s.ws.clone(), s.sock_dir.clone()]);
    for (what, policy) in [
        ("without namespaces", without_namespaces),
        ("with the socket's directory granted", granted),
    ] {
        for overrides in [
            json!({"unsandboxed": true}),
            json!({"grant": {"network": true, "write": ["/"]}}),
            json!({"grant": {"raise_limits": true}}),
        ] {
            let answer = confined_client(&rt, &s, policy.clone(), &start(&s.ws, overrides.clone()));
            if !policy.namespaces {
                // Without a private root no unix socket can be made at all (seccomp): the
                // daemon's own refusal below is what holds where one can.
                assert!(
                    answer.starts_with("CONNECT-FAILED") && answer.contains("not permitted"),
                    "{what} {overrides}: the socket was reached: {answer}"
                );
                continue;
            }
            let v: Value = serde_json::from_str(&answer)
                .unwrap_or_else(|_| panic!("{what} {overrides}: the socket was reached: {answer}"));
            assert_eq!(
                v["error"]["code"], "forbidden",
                "{what} {overrides}: {answer}"
            );
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("refused: a sandboxed process cannot weaken confinement"),
                "{what}: {answer}"
            );
        }
    }

    // The same request from this (unconfined) test process is the user's, and is served.
    let mut client =
        skillet_server::Client::connect(&SocketPaths::for_user(Some(&s.socket)).unwrap()).unwrap();
    let params =
        serde_json::from_value(start(&s.ws, json!({"unsandboxed": true}))["params"].clone())
            .unwrap();
    let started = client.session_start(&params).unwrap();
    assert_eq!(
        started.status,
        skillet_store::SessionStatus::Live,
        "{started:?}"
    );
    let _ = client.stop();
}
