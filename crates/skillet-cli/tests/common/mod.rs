//! A throwaway machine for end-to-end tests: a home directory, a workspace that is a repository,
//! and a `skillet` command that sees nothing of the real machine's environment.

#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used)] // test fixtures: a failure here is a broken test machine

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub mod attack;
pub mod channels;
pub mod consistency;
pub mod conversation;
pub mod daemon;
pub mod isolated;
pub mod llm;
pub mod mcp;
pub mod mcp_http;
pub mod mcp_stdio;
pub mod observe;
pub mod pool;
pub mod queue;
pub mod served;
pub mod sessions;
pub mod state;

pub struct World {
    pub tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub ws: PathBuf,
}

impl World {
    pub fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let ws = tmp.path().join("ws");
        fs::create_dir_all(ws.join(".git")).unwrap();
        fs::create_dir_all(&home).unwrap();
        // Scratch, sockets and the daemon live under $XDG_RUNTIME_DIR only when it exists;
        // without it every test would share `/dev/shm/skillet-<uid>` and one test's scratch
        // would count against another's `max_scratch_total_mb`.
        fs::DirBuilder::new()
            .mode(0o700)
            .create(tmp.path().join("run"))
            .unwrap();
        World { tmp, home, ws }
    }

    /// What the daemon of this world logged so far (empty when none ran): a failed daemon
    /// request says why only there.
    pub fn daemon_log(&self) -> String {
        fs::read_to_string(self.tmp.path().join("run/skillet/skillet.log")).unwrap_or_default()
    }

    /// Writes a file; `~/` paths go under the fake home, others under the workspace.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        match rel.strip_prefix("~/") {
            Some(r) => self.home.join(r),
            None => self.ws.join(rel),
        }
    }

    /// A `[grants.NAME]` section of the global `skillet.toml` with the settings in `body` (one
    /// per line), for this world's workspace skill NAME: a grant names the workspaces whose
    /// skill it is for.
    pub fn grant_toml(&self, name: &str, body: &str) -> String {
        let ws = fs::canonicalize(&self.ws).unwrap();
        format!(
            "[grants.{name}]\n{body}workspaces = [{:?}]\n",
            ws.display().to_string()
        )
    }

    /// Writes a workspace skill `.skillet/skills/NAME.json`.
    pub fn skill(&self, name: &str, json: serde_json::Value) -> PathBuf {
        self.write(
            &format!(".skillet/skills/{name}.json"),
            &serde_json::to_string_pretty(&json).unwrap(),
        )
    }

    pub fn skillet(&self) -> Command {
        Command::from_std(self.command(&assert_cmd::cargo::cargo_bin("skillet")))
    }

    /// `program` run in the workspace with this world's environment and nothing else.
    pub fn command(&self, program: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.current_dir(&self.ws)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("XDG_RUNTIME_DIR", self.tmp.path().join("run"));
        cmd
    }

    /// Runs skillet with `args` and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.skillet().args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `skillet run ... --json` and parses the result.
    pub fn run_json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.push("--json");
        let (code, stdout, stderr) = self.run(&all);
        let value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
        (code, value)
    }
}

impl Drop for World {
    /// A test that started the daemon stops it, so no daemon outlives its test.
    fn drop(&mut self) {
        if self.tmp.path().join("run/skillet/skillet.sock").exists() {
            let _ = self.skillet().args(["daemon", "stop"]).output();
        }
    }
}

/// The first of `candidates` that exists, else the bare name (looked up on PATH). Tests prefer
/// system interpreters: an unprivileged test user may not reach one under /root.
pub fn interpreter(name: &str) -> String {
    ["/usr/bin", "/usr/local/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| name.to_owned())
}

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Whether a process is still alive (zombies count as dead).
pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}
