//! `skillet mcp` at rest: hot reload watches the skill directories, yet an idle server costs
//! (almost) no CPU, a skill directory that leads into /proc or /sys is refused once and never
//! walked, closing stdin ends the server promptly, and a real change is still announced.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::World;
use serde_json::{Value, json};

/// A running `skillet mcp` past its handshake, its stdout read line by line.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Server {
    fn start(w: &World) -> Server {
        let mut child = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .arg("mcp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let mut server = Server {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
        };
        server.send(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "idle-test", "version": "1"}}}),
        );
        server.wait_for(|m| m["id"] == 1, "the initialize reply");
        server.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        server.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
        server.wait_for(|m| m["id"] == 2, "the tools/list reply");
        server
    }

    fn send(&mut self, message: &Value) {
        let mut line = serde_json::to_vec(message).unwrap();
        line.push(b'\n');
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(&line).unwrap();
        stdin.flush().unwrap();
    }

    /// The first message matching `wanted`, failing (not hanging) when none comes in 20 s.
    fn wait_for(&mut self, wanted: impl Fn(&Value) -> bool, what: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {what} within 20 s"));
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("a line that is not JSON ({e}): {line}"));
            if wanted(&message) {
                return message;
            }
        }
    }

    /// Closes stdin and waits up to `limit` for the exit; returns how long it took and stderr.
    fn close(mut self, limit: Duration) -> (Duration, String) {
        drop(self.stdin.take());
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = self.stderr.join().unwrap();
                panic!(
                    "skillet mcp did not exit within {limit:?} of stdin closing; stderr:\n{stderr}"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let took = start.elapsed();
        (took, self.stderr.join().unwrap())
    }
}

/// CPU time (user + system) the process has used so far, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn ticks_per_second() -> u64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// A trusted workspace with `n` skills: most as `.skillet/skills/*.json`, a fifth as SKILL.md
/// folders with a script each.
fn workspace(n: usize) -> World {
    let w = World::new();
    for i in 0..n {
        if i % 5 == 0 {
            w.write(
                &format!(".claude/skills/folder{i}/SKILL.md"),
                &format!("---\nname: folder{i}\ndescription: Folder {i}\n---\nDo {i}.\n"),
            );
            w.write(
                &format!(".claude/skills/folder{i}/scripts/run.sh"),
                "echo hi\n",
            );
        } else {
            w.skill(
                &format!("s{i}"),
                json!({"name": format!("s{i}"), "description": format!("Skill {i}"),
                       "type": "code_inline", "command": "echo", "args": ["{word}"],
                       "parameters": [{"name": "word", "type": "string", "required": true}]}),
            );
        }
    }
    let (code, _, err) = w.run(&["trust"]);
    assert_eq!(code, 0, "trust: {err}");
    w
}

#[test]
fn an_idle_server_uses_almost_no_cpu() {
    let w = workspace(500);
    let mut server = Server::start(&w);
    server.send(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}));
    let listed = server.wait_for(|m| m["id"] == 3, "the second tools/list reply");
    assert!(
        listed["result"]["tools"].as_array().unwrap().len() >= 400,
        "the skills are served: {listed}"
    );
    // Let start-up work (setting up the watches) finish before measuring.
    std::thread::sleep(Duration::from_millis(500));
    let pid = server.child.id();
    let idle = Duration::from_secs(3);
    let before = cpu_ticks(pid);
    std::thread::sleep(idle);
    let used = cpu_ticks(pid) - before;
    let (_, stderr) = server.close(Duration::from_secs(5));
    let limit = ticks_per_second() * idle.as_secs() * 5 / 100;
    assert!(
        used < limit,
        "an idle server used {used} clock ticks in {idle:?} (limit {limit}); stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("reloaded"),
        "nothing changed, yet the server reloaded:\n{stderr}"
    );
}

#[test]
fn skill_dirs_leading_into_proc_or_sys_are_refused_once_and_exit_is_prompt() {
    let w = workspace(5);
    for (link, target) in [
        (".claude/skills", "/proc"),
        (".q-skills", "/sys/kernel"),
        (".agents/skills", "/dev"),
    ] {
        let path = w.path(link);
        if path.exists() {
            std::fs::remove_dir_all(&path).unwrap();
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, &path).unwrap();
    }
    let server = Server::start(&w);
    // The unfixed server said its warning again every ~2 s; give it time to.
    std::thread::sleep(Duration::from_millis(2_500));
    let (took, stderr) = server.close(Duration::from_secs(5));
    assert!(took < Duration::from_secs(5), "exit took {took:?}");
    for link in [".claude/skills", ".q-skills", ".agents/skills"] {
        let warnings = stderr
            .lines()
            .filter(|l| l.contains("not watching") && l.contains(link))
            .count();
        assert!(
            warnings <= 1,
            "the warning about {link} was said {warnings} times:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("reloaded"),
        "nothing changed, yet the server reloaded:\n{stderr}"
    );
}

#[test]
fn closing_stdin_exits_promptly_in_a_large_workspace() {
    let w = workspace(2_000);
    let server = Server::start(&w);
    // A change makes the server reload 2,000 skills; stdin closes while it does.
    w.skill(
        "late",
        json!({"name": "late", "type": "code_inline", "command": "true"}),
    );
    std::thread::sleep(Duration::from_millis(200));
    let (took, stderr) = server.close(Duration::from_secs(5));
    assert!(
        took < Duration::from_secs(2),
        "exit took {took:?}; stderr:\n{stderr}"
    );
}

#[test]
fn adding_a_skill_is_still_announced() {
    let w = workspace(20);
    let mut server = Server::start(&w);
    w.skill(
        "added",
        json!({"name": "added", "description": "Added later", "type": "code_inline",
               "command": "true"}),
    );
    server.wait_for(
        |m| m["method"] == "notifications/tools/list_changed",
        "tools/list_changed notification after adding a skill",
    );
    server.send(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}));
    let listed = server.wait_for(|m| m["id"] == 9, "the tools/list reply after the change");
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"added"), "{names:?}");
    let (_, stderr) = server.close(Duration::from_secs(5));
    assert!(stderr.contains("reloaded"), "{stderr}");
}
