//! Every `skillet` example in README.md and in each command's `--help` runs as written, with the
//! exit code its text implies, against the real binary.
//!
//! The examples are read from the README and from the binary's own help, never copied here, so a
//! new example is run the day it is written. Each README shell block runs in order in one
//! throwaway machine (a fake home, a clone-like copy of `examples/`), as a newcomer would type
//! it: `cd` and shell variables carry from one line to the next. The only knowledge kept here is
//! what the text says in prose: which examples fail on purpose, which placeholders a reader
//! replaces, and what the tour assumes the reader already has (their own skills, a model
//! server), in `tests/fixtures/readme/`.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::World;
use common::llm::{KEY, Llm, openai_answer};
use wiremock::Mock;
use wiremock::matchers::method;

/// One thing to type: a line, or a here-document with its body.
#[derive(Debug, Clone)]
struct Step {
    /// Where it was read: `README.md:42` or `skillet run --help`.
    at: String,
    /// The shell text as written (continuation lines joined).
    text: String,
}

impl Step {
    /// The first line, comment included, blanks collapsed: how `NOTES` names an example.
    fn key(&self) -> String {
        let first = self.text.lines().next().unwrap_or("");
        first.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Whether it was read from the README (else from `--help`).
    fn in_readme(&self) -> bool {
        self.at.starts_with("README")
    }
}

/// What the prose says about an example that does not simply exit 0.
enum Note {
    /// The text says it fails, and how.
    Exits(i32),
    /// A placeholder the reader replaces with a value from an earlier step (shell text).
    Replace(&'static str, &'static str),
    /// Typed on a terminal: runs under a pseudo-terminal (`script`) with these keystrokes.
    Terminal(&'static str),
    /// What the reader does first (shell text), as the prose around the example says.
    Before(&'static str),
    /// Fails as written (exit code) for a reason the text does not give: a bug in the example,
    /// printed on every run until the example is fixed, when this note must go.
    Broken(i32),
}

/// Where an example was read.
#[derive(PartialEq)]
enum From {
    Readme,
    Help,
}

/// Examples whose text says they do not exit 0, or that name a placeholder, keyed by where they
/// are and `Step::key`. An entry that matches no example fails the test, so none goes stale.
const NOTES: &[(From, &str, Note, &str)] = &[
    (
        From::Readme,
        "skillet run greet --param 'name=$(rm -rf ~)' # refused: does not match the declared pattern",
        Note::Exits(2),
        "refused: the value does not fit the declared pattern (exit 2, invalid parameters)",
    ),
    (
        From::Readme,
        "skillet validate",
        Note::Exits(1),
        "after writing the broken oops.json: validate reports its errors (exit 1)",
    ),
    (
        From::Readme,
        "skillet history show 0190f3a2 # one execution, by id or the start of one",
        Note::Replace("0190f3a2", LAST_ID),
        "an example id: the reader types the start of one `skillet history` printed",
    ),
    (
        From::Help,
        "skillet history show 0190f3a2",
        Note::Replace("0190f3a2", LAST_ID),
        "an example id: the reader types the start of one `skillet history` printed",
    ),
    (
        From::Readme,
        "skillet run review --param file=src/lib.rs # on a terminal: its questions, then your replies",
        Note::Terminal("the add function\nthe sign\n\n"),
        "on a terminal: the reader answers the two questions, then an empty line",
    ),
    (
        From::Readme,
        "skillet session resume $ID # go on where it stopped",
        Note::Terminal("And the tests?\n\n"),
        "on a terminal: the reader types the next message, then an empty line",
    ),
    (
        From::Help,
        "skillet run review --param file=src/lib.rs",
        Note::Terminal("the add function\nthe sign\n\n"),
        "on a terminal: the reader answers the two questions, then an empty line",
    ),
    (
        From::Help,
        "skillet session resume ID",
        Note::Terminal("And the tests?\n\n"),
        "on a terminal: the reader types the next message, then an empty line",
    ),
    (
        From::Help,
        "skillet session resume ID",
        Note::Replace("ID", CONVERSATION_ID),
        "ID stands for the conversation's session id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "skillet session send 0193… 'print(1 + 1)'",
        Note::Replace("0193…", LIVE_PY),
        "0193… stands for a live session's id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "cat script.py | skillet session send 0193…",
        Note::Replace("0193…", LIVE_PY),
        "0193… stands for a live session's id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "skillet session send B --from A",
        Note::Replace(
            "B --from A",
            "\"$(skillet session list py --status live --json | jq -r '.[1].id')\" --from \"$(skillet session list py --status live --json | jq -r '.[0].id')\"",
        ),
        "A and B stand for two live sessions' ids, which `skillet session list` shows",
    ),
    (
        From::Help,
        "skillet session resume 0193…",
        Note::Replace("0193…", CONVERSATION_ID),
        "0193… stands for the conversation's session id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "skillet session resume 0193…",
        Note::Terminal("And the tests?\n\n"),
        "on a terminal: the reader types the next message, then an empty line",
    ),
    (
        From::Help,
        "skillet session resume 0193… --answers more.txt",
        Note::Replace("0193…", CONVERSATION_ID),
        "0193… stands for the conversation's session id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "echo 'And the tests?' | skillet session resume 0193… --answers -",
        Note::Replace("0193…", CONVERSATION_ID),
        "0193… stands for the conversation's session id, which `skillet session list` shows",
    ),
    (
        From::Help,
        "skillet session pipe $GEN $CHECK",
        Note::Replace("$GEN $CHECK", TWO_LIVE),
        "$GEN and $CHECK stand for two live sessions' ids",
    ),
    (
        From::Help,
        "skillet session pipe $GEN $CHECK --stop",
        Note::Replace("$GEN $CHECK", TWO_LIVE),
        "$GEN and $CHECK stand for two live sessions' ids",
    ),
    (
        From::Help,
        "skillet serve",
        Note::Before("skillet daemon stop"),
        "the session examples started a daemon in the background; serve's help says so",
    ),
    (
        From::Help,
        "skillet daemon status",
        Note::Before("skillet session start py"),
        "the reader has a session open (with none, status says no daemon runs and exits 1)",
    ),
    (
        From::Help,
        "skillet serve --socket /tmp/skillet-test.sock --idle-timeout 60",
        Note::Broken(125),
        "/tmp is shared, and the daemon refuses a socket directory others can enter",
    ),
];

/// A live session's id, as a reader would copy it from `skillet session list`.
const LIVE_PY: &str = "\"$(skillet session list py --status live --json | jq -r '.[0].id')\"";

/// Two live sessions' ids.
const TWO_LIVE: &str = "$(skillet session list --status live --json | jq -r '.[0].id, .[1].id')";

/// The id of a `review` conversation, as a reader would copy it from `skillet session list`.
const CONVERSATION_ID: &str =
    "\"$(skillet session list --json | jq -r 'map(select(.skill == \"review\"))[0].id')\"";

/// The newest execution's id, as a reader would copy it from `skillet history`.
const LAST_ID: &str = "\"$(skillet history --json --limit 1 | jq -r '.[0].id')\"";

/// The README's fenced shell blocks (`sh`, `bash`, `shell`, `console`), each a list of steps.
fn readme_blocks(readme: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Step>> = None;
    let mut console = false;
    let mut lines = readme.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        if let Some(lang) = line.strip_prefix("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None if matches!(lang.trim(), "sh" | "bash" | "shell" | "console") => {
                    console = lang.trim() == "console";
                    current = Some(Vec::new());
                }
                None => {
                    // Another language's block: skip to its end.
                    for (_, l) in lines.by_ref() {
                        if l.starts_with("```") {
                            break;
                        }
                    }
                }
            }
            continue;
        }
        let Some(block) = current.as_mut() else {
            continue;
        };
        let mut text = line.to_owned();
        if console {
            // Only `$ ` lines are typed; the rest is output.
            match line.strip_prefix("$ ") {
                Some(typed) => text = typed.to_owned(),
                None => continue,
            }
        }
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        while text.ends_with('\\') {
            let Some((_, next)) = lines.next() else { break };
            text.push('\n');
            text.push_str(next);
        }
        if let Some(terminator) = heredoc_terminator(&text) {
            for (_, body) in lines.by_ref() {
                text.push('\n');
                text.push_str(body);
                if body.trim() == terminator {
                    break;
                }
            }
        }
        block.push(Step {
            at: format!("README.md:{}", n + 1),
            text,
        });
    }
    blocks
}

/// `EOF` for a line holding `<<'EOF'`, `<<"EOF"` or `<<EOF`.
fn heredoc_terminator(line: &str) -> Option<String> {
    let after = line
        .split("<<")
        .nth(1)?
        .trim_start_matches('-')
        .trim_start();
    let word: String = after
        .trim_start_matches(['\'', '"'])
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

/// Whether `text` runs skillet: `skillet` as a command word (first, after `VAR=value`
/// assignments, or after `|`, `&&`, `;`, inside `$(…)`, or after an assignment from one).
fn runs_skillet(text: &str) -> bool {
    let first = text.lines().next().unwrap_or("");
    let spaced = first
        .replace("$(", " $( ")
        .replace(')', " ) ")
        .replace('|', " | ")
        .replace("&&", " && ")
        .replace(';', " ; ");
    let mut command_position = true;
    // Whether the word after each open `$(…)` is in command position.
    let mut outer = Vec::new();
    for word in spaced.split_whitespace() {
        if word == "#" {
            return false;
        }
        if command_position && word == "skillet" {
            return true;
        }
        command_position = match word {
            "$(" => {
                outer.push(command_position);
                true
            }
            ")" => outer.pop().unwrap_or(false),
            "|" | "&&" | ";" => true,
            _ => command_position && word.contains('=') && !word.starts_with('-'),
        };
    }
    false
}

/// The skillet subcommand of a step (`serve`, `mcp`, ...), past global options, and whether it
/// asks for help.
fn subcommand(text: &str) -> (Option<String>, bool) {
    let first = text.lines().next().unwrap_or("");
    let Some(words) = shlex::split(first) else {
        return (None, false);
    };
    let Some(at) = words
        .iter()
        .position(|w| w == "skillet" || w.ends_with("skillet"))
    else {
        return (None, false);
    };
    let rest = &words[at + 1..];
    let help = rest.iter().any(|w| w == "--help" || w == "-h");
    let mut i = 0;
    while i < rest.len() {
        match rest[i].as_str() {
            "-C" | "--cwd" => i += 2,
            w if w.starts_with('-') => i += 1,
            w => return (Some(w.to_owned()), help),
        }
    }
    (None, help)
}

/// The examples of `skillet PATH --help` and of every subcommand below it, read from the help
/// the binary prints: two-space indented lines after `Usage:` that run skillet.
fn help_steps(w: &World, path: &[String], out: &mut Vec<Step>) {
    let mut cmd = w.command(Path::new(env!("CARGO_BIN_EXE_skillet")));
    cmd.args(path).arg("--help").env("COLUMNS", "1000");
    let help = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.status.success(), "skillet {path:?} --help: {text}");
    let name = format!("skillet {} --help", path.join(" "))
        .replace("  ", " ")
        .trim()
        .to_owned();
    let mut after_usage = false;
    let mut in_commands = false;
    let mut subcommands = Vec::new();
    for line in text.lines() {
        if line.starts_with("Usage:") {
            after_usage = true;
        }
        if line == "Commands:" {
            in_commands = true;
            continue;
        }
        if in_commands {
            match line.strip_prefix("  ") {
                Some(entry) if !entry.starts_with(' ') => {
                    let sub = entry.split_whitespace().next().unwrap_or("");
                    if sub != "help" && !sub.is_empty() {
                        subcommands.push(sub.to_owned());
                    }
                    continue;
                }
                Some(_) => continue,
                None => in_commands = false,
            }
        }
        let Some(example) = line.strip_prefix("  ") else {
            continue;
        };
        if !after_usage || example.starts_with(' ') || !runs_skillet(example) {
            continue;
        }
        // Two blanks start the example's description.
        let example = example.split("  ").next().unwrap_or(example);
        out.push(Step {
            at: name.clone(),
            text: example.to_owned(),
        });
    }
    for sub in subcommands {
        let mut deeper = path.to_vec();
        deeper.push(sub);
        help_steps(w, &deeper, out);
    }
}

/// The HTTP port examples share: one at a time across this file's tests.
static PORTS: Mutex<()> = Mutex::new(());

/// A throwaway machine that runs steps the way a reader's shell would.
struct Shell {
    w: World,
    /// The model server conversation skills talk to.
    _llm: Llm,
    state: PathBuf,
    cwd: PathBuf,
    log: Vec<String>,
    failures: Vec<String>,
    used_notes: Vec<&'static str>,
}

impl Shell {
    /// A fake home holding the reader's own skills (`fixtures/readme/home`) and a global
    /// `[llm]` section pointing at a local model server; `ws` is a repository.
    fn new() -> Shell {
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
            .env("COLUMNS", "1000");
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd
    }

    /// Runs every step; examples are checked against the exit code their text implies.
    fn run_all(&mut self, steps: &[Step]) {
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
            let mut broken = false;
            for (from, key, note, why) in NOTES {
                if *key != step.key() || (*from == From::Readme) != step.in_readme() {
                    continue;
                }
                self.used_notes.push(key);
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
                    Note::Broken(code) => {
                        expected = *code;
                        broken = true;
                        self.log.push(format!(
                            "BROKEN AS WRITTEN {}: `{}`: {why}",
                            step.at,
                            step.key()
                        ));
                    }
                }
                self.log.push(format!("{}: note: {why}", step.at));
            }
            let (sub, help) = subcommand(&text);
            let outcome = match sub.as_deref() {
                _ if broken => self.once(&text, expected),
                Some("serve") if runs_skillet(&text) && !help => self.serve(&code(&text)),
                Some("mcp") if runs_skillet(&text) && !help => self.mcp(&code(&text)),
                _ => match typed {
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
            "script -qec 'bash {}' /dev/null < '{}'",
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
    fn report(&self, what: &str) {
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

/// The first line of `text` without its `# comment`, for steps the test wraps in more shell.
fn code(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let (mut single, mut double, mut previous) = (false, false, ' ');
    for (at, c) in first.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous.is_whitespace() => {
                return first[..at].trim_end().to_owned();
            }
            _ => {}
        }
        previous = c;
    }
    first.to_owned()
}

/// Whether a step redirects output to an absolute path other than a device.
fn writes_outside(text: &str) -> bool {
    code(text).split('>').skip(1).any(|after| {
        after.trim_start().starts_with('/') && !after.trim_start().starts_with("/dev/")
    })
}

/// Setup a reader types between examples: moving around and writing or removing files.
fn is_setup(text: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or("");
    matches!(
        first,
        "cd" | "cat" | "rm" | "mkdir" | "echo" | "printf" | "export"
    )
}

/// The port of `--http HOST:PORT`.
fn http_port(text: &str) -> Option<u16> {
    let after = text.split("--http").nth(1)?.split_whitespace().next()?;
    after.rsplit(':').next()?.parse().ok()
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

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/readme")
}

fn copy_tree(from: &Path, to: &Path) {
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

/// Every `NOTES` entry for `from` that no example used: a changed example takes its note along.
fn unused_notes(used: &[&'static str], from: From) -> Vec<String> {
    NOTES
        .iter()
        .filter(|(f, key, _, _)| *f == from && !used.contains(key))
        .map(|(_, key, _, _)| format!("the note for `{key}` matches no example"))
        .collect()
}

#[test]
fn every_readme_example_runs_as_written() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let blocks = readme_blocks(&readme);
    let examples = blocks
        .iter()
        .flatten()
        .filter(|s| runs_skillet(&s.text))
        .count();
    assert!(
        examples > 40,
        "the README's examples were found: {blocks:#?}"
    );

    let mut shell = Shell::new();
    // The reader has cloned the repository: the tour starts at its root.
    copy_tree(&common::examples_dir(), &shell.w.ws.join("examples"));
    // What the tour's later sections assume the reader's project holds.
    copy_tree(&fixtures().join("project"), &shell.w.ws.join("examples"));
    for block in &blocks {
        shell.run_all(block);
    }
    let stale = unused_notes(&shell.used_notes, From::Readme);
    assert!(stale.is_empty(), "{stale:?}");
    shell.report("README's examples");
}

#[test]
fn every_help_example_runs_as_written() {
    let mut shell = Shell::new();
    let mut steps = Vec::new();
    help_steps(&shell.w, &[], &mut steps);
    assert!(steps.len() > 40, "the help examples were found: {steps:#?}");
    // The help examples name skills and files of a project of their own.
    copy_tree(
        &common::examples_dir().join(".skillet"),
        &shell.w.ws.join(".skillet"),
    );
    copy_tree(&fixtures().join("project"), &shell.w.ws);
    copy_tree(&fixtures().join("help"), &shell.w.ws);
    fs::write(
        shell.w.ws.join("Cargo.toml"),
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    shell.run_all(&steps);
    let stale = unused_notes(&shell.used_notes, From::Help);
    assert!(stale.is_empty(), "{stale:?}");
    shell.report("help examples");
}

#[test]
fn steps_are_read_as_a_shell_would_read_them() {
    let blocks = readme_blocks(
        "text\n```sh\ncd x\nskillet list   # all\n# a comment\ncat > f <<'EOF'\n{\n}\nEOF\nclaude mcp add \\\n  --header y\n```\n```toml\nskillet = 1\n```\n```console\n$ skillet info a\noutput\n```\n",
    );
    let texts: Vec<Vec<&str>> = blocks
        .iter()
        .map(|b| b.iter().map(|s| s.text.as_str()).collect())
        .collect();
    assert_eq!(
        texts,
        [
            vec![
                "cd x",
                "skillet list   # all",
                "cat > f <<'EOF'\n{\n}\nEOF",
                "claude mcp add \\\n  --header y"
            ],
            vec!["skillet info a"]
        ]
    );
    assert_eq!(blocks[0][1].key(), "skillet list # all");
    assert!(runs_skillet("ID=$(skillet session start py)"));
    assert!(runs_skillet("echo hi | skillet run x"));
    assert!(runs_skillet("cd ~/p && skillet trust"));
    assert!(runs_skillet("X=1 skillet serve"));
    assert!(runs_skillet("T=$(openssl rand -hex 32) skillet serve"));
    assert!(!runs_skillet("echo $(date) skillet"));
    assert!(!runs_skillet("claude mcp add skillet -- skillet mcp"));
    assert!(!runs_skillet("gemini mcp add skillet skillet mcp"));
    assert_eq!(
        subcommand("skillet -C ~/p mcp --max-concurrent 4"),
        (Some("mcp".into()), false)
    );
    assert_eq!(http_port("skillet serve --http 0.0.0.0:8750"), Some(8750));
    assert!(writes_outside("skillet schema > /tmp/skill.schema.json"));
    assert!(!writes_outside(
        "skillet schema > skill.schema.json # not > /tmp"
    ));
    assert!(!writes_outside("skillet run x 2> /dev/null"));
    assert_eq!(
        code("skillet serve --http 127.0.0.1:8750   # MCP at http://x/#y"),
        "skillet serve --http 127.0.0.1:8750"
    );
    assert_eq!(
        code("skillet run a --param 'v=# not a comment'"),
        "skillet run a --param 'v=# not a comment'"
    );
}
