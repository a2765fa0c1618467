//! A throwaway machine that runs steps the way a reader's shell would, and checks each
//! example's outcome.

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wiremock::Mock;
use wiremock::matchers::method;

use super::common::World;
use super::common::llm::{KEY, Llm, openai_answer};
use super::steps::{Step, code, http_port, is_setup, runs_skillet, subcommand, writes_outside};
use super::{From, NOTES, Note};

/// The HTTP port examples share: one at a time across this file's tests.
static PORTS: Mutex<()> = Mutex::new(());

/// A throwaway machine that runs steps the way a reader's shell would.
pub struct Shell {
    pub w: World,
    /// The model server conversation skills talk to.
    _llm: Llm,
    state: PathBuf,
    cwd: PathBuf,
    log: Vec<String>,
    failures: Vec<String>,
    pub used_notes: Vec<usize>,
    /// A fresh database on the test PostgreSQL server, for examples that name a team store.
    team_store: Option<String>,
}

impl Shell {
    /// A fake home holding the reader's own skills (`fixtures/readme/home`) and a global
    /// `[llm]` section pointing at a local model server; `ws` is a repository.
    pub fn new() -> Shell {
        let w = World::new();
        copy_tree(&fixtures().join("home"), &w.home);
        // Where the completion examples write, as on a machine with bash-completion and zsh.
        fs::create_dir_all(w.home.join(".local/share/bash-completion/completions")).unwrap();
        fs::create_dir_all(w.home.join(".zfunc")).unwrap();
        fs::create_dir_all(w.home.join("src/project/.git")).unwrap();
        let llm = Llm::start();
        llm.mount(
            Mock::given(method("POST"))
                .respond_with(openai_answer(&["It adds two numbers; ", "check the sign."])),
        );
        llm.configure(&w, "openai", "");
        let state = w.tmp.path().join("shell");
        fs::create_dir_all(&state).unwrap();
        let cwd = w.ws.clone();
        Shell {
            w,
            _llm: llm,
            state,
            cwd,
            log: Vec::new(),
            failures: Vec::new(),
            used_notes: Vec::new(),
            team_store: skillet_store_postgres::test_server::fresh_url(),
        }
    }

    /// `bash` running `body` with the variables and directory the previous steps left.
    fn bash(&self, body: &str) -> Command {
        let script = self.state.join("step.sh");
        let vars = self.state.join("vars");
        let cwd = self.state.join("cwd");
        fs::write(
            &script,
            format!(
                "set -a\n[ -f '{vars}' ] && . '{vars}'\n{body}\n__rc=$?\nexport -p > '{vars}.new' && mv '{vars}.new' '{vars}'\npwd > '{cwd}'\nexit $__rc\n",
                vars = vars.display(),
                cwd = cwd.display(),
            ),
        )
        .unwrap();
        let bin = Path::new(env!("CARGO_BIN_EXE_skillet")).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = self.w.command(Path::new("bash"));
        cmd.arg(&script)
            .current_dir(&self.cwd)
            .env("PATH", path)
            .env("TEST_LLM_KEY", KEY)
            .env("GITHUB_TOKEN", "ghp_readmeexampletoken0000000000000000")
            .env("COLUMNS", "1000")
            .env(
                "TEAM_STORE_URL",
                self.team_store.as_deref().unwrap_or_default(),
            );
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd
    }

    /// Runs every step; examples are checked against the exit code their text implies.
    pub fn run_all(&mut self, steps: &[Step]) {
        for step in steps {
            if !runs_skillet(&step.text) && !is_setup(&step.text) {
                self.log.push(format!(
                    "{}: not run (not a skillet command): {}",
                    step.at,
                    step.key()
                ));
                continue;
            }
            if writes_outside(&step.text) {
                // A fixed path outside the reader's own directories collides between users (and
                // between runs of this test): write beside the workspace instead.
                self.failures.push(format!(
                    "{}: `{}` writes to a shared absolute path",
                    step.at,
                    step.key()
                ));
                continue;
            }
            let mut text = step.text.clone();
            let mut expected = 0;
            let mut typed = None;
            for (index, (from, key, note, why)) in NOTES.iter().enumerate() {
                if *key != step.key() || (*from == From::Readme) != step.in_readme() {
                    continue;
                }
                self.used_notes.push(index);
                match note {
                    Note::Exits(code) => expected = *code,
                    Note::Replace(from, to) => text = text.replacen(from, to, 1),
                    Note::Terminal(keys) => typed = Some(*keys),
                    Note::Before(first) => {
                        if let Err(why) = self.once(first, 0) {
                            self.failures
                                .push(format!("{}: before it, `{first}`: {why}", step.at));
                        }
                    }
                }
                self.log.push(format!("{}: note: {why}", step.at));
            }
            if text.contains("$TEAM_STORE_URL") && self.team_store.is_none() {
                println!(
                    "SKIPPED {}: no PostgreSQL server for the team store",
                    step.at
                );
                continue;
            }
            let (sub, help) = subcommand(&text);
            let outcome = match sub.as_deref() {
                Some("serve") if runs_skillet(&text) && !help => self.serve(&code(&text)),
                Some("mcp") if runs_skillet(&text) && !help => self.mcp(&code(&text)),
                _ => match typed {
                    Some(_) if !Path::new("/usr/bin/script").exists() => {
                        println!(
                            "SKIPPED {}: no /usr/bin/script to give it a terminal",
                            step.at
                        );
                        continue;
                    }
                    Some(keys) => self.on_terminal(&text, keys, expected),
                    None => self.once(&text, expected),
                },
            };
            let cwd = fs::read_to_string(self.state.join("cwd")).unwrap_or_default();
            if !cwd.trim().is_empty() {
                self.cwd = PathBuf::from(cwd.trim());
            }
            match outcome {
                Ok(line) => self
                    .log
                    .push(format!("{}: `{}`: {line}", step.at, step.key())),
                Err(why) => self
                    .failures
                    .push(format!("{}: `{}`\n{why}", step.at, step.text)),
            }
        }
    }

    /// A step that runs to its end: its exit code must be `expected`.
    fn once(&mut self, text: &str, expected: i32) -> Result<String, String> {
        let (status, stdout, stderr) = self.capture(self.bash(text), Duration::from_secs(120))?;
        let code = status.code().unwrap_or(-1);
        if code == expected {
            Ok(format!("exit {code}"))
        } else {
            Err(format!(
                "exit {code}, expected {expected}\nstdout:\n{}\nstderr:\n{}",
                tail(&stdout),
                tail(&stderr)
            ))
        }
    }

    /// A step typed on a terminal: `script` gives it one, and `keys` are what the reader types.
    fn on_terminal(&mut self, text: &str, keys: &str, expected: i32) -> Result<String, String> {
        let inner = self.state.join("typed.sh");
        fs::write(&inner, text).unwrap();
        let mut cmd = self.bash(&format!(
            "/usr/bin/script -qec 'bash {}' /dev/null < '{}'",
            inner.display(),
            self.state.join("keys").display()
        ));
        fs::write(self.state.join("keys"), keys).unwrap();
        cmd.env("SHELL", "bash");
        let (status, stdout, stderr) = self.capture(cmd, Duration::from_secs(120))?;
        let code = status.code().unwrap_or(-1);
        if code == expected {
            Ok(format!("exit {code} on a terminal"))
        } else {
            Err(format!(
                "exit {code} on a terminal, expected {expected}\nterminal:\n{}\nstderr:\n{}",
                tail(&stdout),
                tail(&stderr)
            ))
        }
    }

    /// `skillet serve …`: it must come up (log that it listens, answer on its HTTP port), keep
    /// running, and stop cleanly (exit 0) on SIGTERM, as it would under a service manager.
    fn serve(&mut self, text: &str) -> Result<String, String> {
        let _port = PORTS.lock().unwrap_or_else(|e| e.into_inner());
        // The server's own pid, so SIGTERM reaches it and `wait` returns its own status.
        let pidfile = self.state.join("server.pid");
        let _ = fs::remove_file(&pidfile);
        let body = format!("{text} &\necho $! > '{}'\nwait $!", pidfile.display());
        let (out, err) = (self.state.join("out"), self.state.join("err"));
        let mut cmd = self.bash(&body);
        cmd.stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap());
        let mut child = cmd.spawn().unwrap();
        let http = http_port(text);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut ready = false;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            let logged = fs::read_to_string(&err).unwrap_or_default();
            if logged.contains("listening") {
                ready = match http {
                    Some(port) => TcpStream::connect(("127.0.0.1", port)).is_ok(),
                    None => true,
                };
                if ready {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let server = fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = server {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let status = wait_for(&mut child, Duration::from_secs(30));
        let stderr = fs::read_to_string(&err).unwrap_or_default();
        match (ready, status.map(|s| s.code())) {
            (true, Some(Some(0))) => Ok("listened, stopped cleanly on SIGTERM".into()),
            (ready, status) => Err(format!(
                "ready: {ready}, status after SIGTERM: {status:?}\nstdout:\n{}\nstderr:\n{}",
                tail(&fs::read_to_string(&out).unwrap_or_default()),
                tail(&stderr)
            )),
        }
    }

    /// `skillet mcp …`: an MCP client on stdin gets its answers, and end of input ends it with 0.
    fn mcp(&mut self, text: &str) -> Result<String, String> {
        let mut cmd = self.bash(text);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let requests = [
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"readme-examples","version":"0"}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        ];
        for request in requests {
            writeln!(stdin, "{request}").unwrap();
        }
        // Give the server time to answer before its input ends, as a client would.
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap());
        let stderr = child.stderr.take().unwrap();
        let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
        std::thread::sleep(Duration::from_secs(3));
        drop(stdin);
        let status = wait_for(&mut child, Duration::from_secs(30));
        let (stdout, stderr) = (reader.join().unwrap(), errors.join().unwrap());
        let answered = stdout.contains(r#""id":1"#) && stdout.contains(r#""id":2"#);
        match status.map(|s| s.code()) {
            Some(Some(0)) if answered => Ok("answered initialize and tools/list, exit 0".into()),
            status => Err(format!(
                "status {status:?}, answered: {answered}\nstdout:\n{}\nstderr:\n{}",
                tail(&stdout),
                tail(&stderr)
            )),
        }
    }

    /// Runs `cmd` with stdin closed, killing its process group after `limit`.
    fn capture(
        &self,
        mut cmd: Command,
        limit: Duration,
    ) -> Result<(ExitStatus, String, String), String> {
        let (out, err) = (self.state.join("out"), self.state.join("err"));
        cmd.stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap());
        let mut child = cmd.spawn().unwrap();
        let status = wait_for(&mut child, limit);
        let stdout = fs::read_to_string(&out).unwrap_or_default();
        let stderr = fs::read_to_string(&err).unwrap_or_default();
        match status {
            Some(status) => Ok((status, stdout, stderr)),
            None => Err(format!(
                "still running after {limit:?}\nstdout:\n{}\nstderr:\n{}",
                tail(&stdout),
                tail(&stderr)
            )),
        }
    }

    /// The log, then a panic naming every failure.
    pub fn report(&self, what: &str) {
        for line in &self.log {
            println!("{line}");
        }
        assert!(
            self.failures.is_empty(),
            "{} of the {what} did not run as written:\n\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
    }
}

/// The status, or None after killing the process group at `limit`.
fn wait_for(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let group = rustix::process::Pid::from_child(child);
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/readme")
}

pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}
