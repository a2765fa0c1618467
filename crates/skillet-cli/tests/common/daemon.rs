//! `skillet serve` (no HTTP) in the foreground of a test's world: the daemon with its watchers
//! (alerts, trace export), up once its log says what the test awaits, stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::World;

/// The daemon, stopped (SIGTERM) when dropped.
pub struct Daemon(Child);

impl Daemon {
    /// Started, once its log has a line with `said`.
    pub fn start_saying(w: &World, said: &str) -> Daemon {
        let said = said.to_owned();
        let mut child = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .arg("serve")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(&said) {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the daemon never said what was awaited");
        Daemon(child)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.0),
            rustix::process::Signal::TERM,
        );
        let _ = self.0.wait();
    }
}
