//! The daemon's socket, end to end: a real daemon (`skillet_server::serve`) on a socket of its
//! own is sent the input as it is, over a fresh connection, then a `daemon.status` probe. The
//! daemon reads the lines, decodes and dispatches each (its private frame reader, confinement
//! check and dispatch), and must answer the probe. A daemon that stopped because the input
//! asked it to (`daemon.stop`) is started again; one whose thread panicked fails the input.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use skillet_registry::Environment;
use skillet_server::{DaemonError, DaemonOptions, SocketPaths};

struct Daemon {
    paths: SocketPaths,
    thread: JoinHandle<Result<(), DaemonError>>,
    probes: u64,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start() -> Daemon {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path();
        std::fs::create_dir_all(root.join("ws/.git")).expect("a workspace");
        // No skills: a `session.start` the input makes is refused after its params are read,
        // so fuzzing never leaves sandboxed interpreters behind.
        std::fs::create_dir_all(root.join("config/skillet/skills")).expect("a skills folder");
        std::fs::create_dir_all(root.join("home")).expect("a home");
        let paths = SocketPaths::for_user(Some(&root.join("run/d.sock"))).expect("socket paths");
        let options = DaemonOptions {
            paths: paths.clone(),
            idle_timeout: Duration::from_secs(600),
            store: None,
            env: Environment {
                cwd: root.join("ws"),
                home: Some(root.join("home")),
                config_home: Some(root.join("config")),
                data_home: Some(root.join("data")),
            },
            http: None,
        };
        let thread = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(skillet_server::serve(options))
        });
        for _ in 0..500 {
            if UnixStream::connect(&paths.socket).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon {
            paths,
            thread,
            probes: 0,
            _dir: dir,
        }
    }

    /// Sends `data` and a probe on one connection; the probe's answer, or why there is none.
    fn probe(&mut self, data: &[u8]) -> Result<Value, String> {
        self.probes += 1;
        let id = format!("probe-{}", self.probes);
        let mut stream = UnixStream::connect(&self.paths.socket)
            .map_err(|e| format!("the daemon does not accept: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .map_err(|e| e.to_string())?;
        let probe = json!({"id": id, "method": "daemon.status"});
        let sent = stream
            .write_all(data)
            .and_then(|()| stream.write_all(format!("\n{probe}\n").as_bytes()));
        sent.map_err(|e| format!("the daemon stopped reading: {e}"))?;
        for line in BufReader::new(stream).lines() {
            let line = line.map_err(|e| format!("no answer to the probe: {e}"))?;
            let answer: Value = serde_json::from_str(&line)
                .map_err(|e| format!("the daemon wrote a line that is not JSON ({e}): {line:?}"))?;
            if answer["id"] == json!(id) {
                return Ok(answer);
            }
        }
        Err("the daemon closed the connection before answering the probe".into())
    }
}

fn daemon() -> &'static Mutex<Option<Daemon>> {
    static DAEMON: OnceLock<Mutex<Option<Daemon>>> = OnceLock::new();
    DAEMON.get_or_init(|| Mutex::new(None))
}

pub fn run(data: &[u8]) {
    let mut slot = daemon().lock().unwrap_or_else(|e| e.into_inner());
    let answer = slot.get_or_insert_with(Daemon::start).probe(data);
    let why = match answer {
        Ok(answer) => {
            assert!(
                answer["result"]["pid"].is_u64(),
                "daemon.status failed: {answer}"
            );
            return;
        }
        Err(why) => why,
    };
    let daemon = slot.as_mut().expect("the daemon just probed");
    if !daemon.thread.is_finished() {
        // Still running: every connection, whatever its bytes, is answered.
        if let Err(again) = daemon.probe(b"") {
            std::thread::sleep(Duration::from_millis(500));
            if !daemon.thread.is_finished() {
                slot.take();
                panic!("the daemon is wedged: {why}; then {again}");
            }
        } else {
            panic!("the daemon dropped a connection: {why}");
        }
    }
    let daemon = slot.take().expect("the daemon just probed");
    // Asked to stop (`daemon.stop`, in any spelling JSON allows): it has, or is about to.
    let stopped = (0..250).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        daemon.thread.is_finished()
    });
    assert!(stopped, "the daemon is wedged: {why}");
    match daemon.thread.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("the daemon failed: {e} ({why})"),
        Err(_) => panic!("the daemon's thread panicked ({why})"),
    }
}
