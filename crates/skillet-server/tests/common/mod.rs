//! A real daemon for the tests: `skillet_server::serve` on a socket of its own, with a home,
//! XDG directories and a SQLite store in a temporary directory, serving a python
//! `code_session` skill.

#![allow(dead_code)] // each test binary uses its own part of the harness

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillet_engine::session::SessionStart;
use skillet_registry::Environment;
use skillet_server::api::{SessionSendParams, SessionStartParams};
use skillet_server::{Client, DaemonOptions, SocketPaths};
use skillet_store::{SqliteStore, Store};

pub fn python() -> &'static str {
    ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("python3")
}

pub struct Daemon {
    _tmp: tempfile::TempDir,
    /// The socket's directory: in the system's temporary directory, so the path stays short
    /// and another user can be let in by opening this one directory.
    pub _run: tempfile::TempDir,
    pub ws: PathBuf,
    pub paths: SocketPaths,
    thread: Option<std::thread::JoinHandle<Result<(), skillet_server::DaemonError>>>,
}

impl Daemon {
    /// A workspace (trusted by being the user's global skills) with a python session skill, and
    /// a daemon serving it.
    pub fn start() -> Daemon {
        Daemon::start_with("")
    }

    /// [`Daemon::start`] with `config` as the global skillet.toml.
    pub fn start_with(config: &str) -> Daemon {
        let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let root = tmp.path();
        let ws = root.join("ws");
        let skills = root.join("config/skillet/skills");
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        std::fs::create_dir_all(&skills).unwrap();
        std::fs::create_dir_all(root.join("home")).unwrap();
        std::fs::write(root.join("config/skillet/skillet.toml"), config).unwrap();
        std::fs::write(
            skills.join("py.json"),
            json!({"name": "py", "description": "Python", "type": "code_session",
                   "command": python()})
            .to_string(),
        )
        .unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&root.join("data/skillet/skillet.db")).unwrap());
        let run = tempfile::tempdir().unwrap();
        let paths = SocketPaths::for_user(Some(&run.path().join("run/d.sock"))).unwrap();
        let options = DaemonOptions {
            paths: paths.clone(),
            idle_timeout: Duration::from_secs(60),
            store: Some(store),
            env: Environment {
                cwd: ws.clone(),
                home: Some(root.join("home")),
                config_home: Some(root.join("config")),
                data_home: Some(root.join("data")),
            },
            http: None,
        };
        // The daemon's future stays on one thread, as `skillet serve` runs it.
        let thread = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(skillet_server::serve(options))
        });
        let started = Instant::now();
        while !paths.socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the daemon listens"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon {
            _tmp: tmp,
            _run: run,
            ws,
            paths,
            thread: Some(thread),
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.paths).unwrap()
    }

    /// One raw line in, one raw line out: the wire format itself.
    pub fn raw(&self, line: &str) -> Value {
        let mut stream = UnixStream::connect(&self.paths.socket).unwrap();
        stream.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut answer = String::new();
        BufReader::new(stream).read_line(&mut answer).unwrap();
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"))
    }

    /// Asks the daemon to stop and waits until it has.
    pub fn stop(mut self) {
        assert!(self.client().stop().unwrap().stopping);
        let thread = self.thread.take().unwrap();
        thread.join().unwrap().unwrap();
        assert!(!self.paths.socket.exists(), "the socket is removed");
    }
}

pub fn start_params(ws: &Path) -> SessionStartParams {
    SessionStartParams {
        skill: "py".into(),
        start: SessionStart {
            label: Some("test".into()),
            caller_dir: ws.to_path_buf(),
            ..SessionStart::default()
        },
    }
}

pub fn send(id: &str, input: &str) -> SessionSendParams {
    SessionSendParams {
        id: id.into(),
        input: Some(input.into()),
        ..SessionSendParams::default()
    }
}
