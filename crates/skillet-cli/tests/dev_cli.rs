//! `skillet dev` with the real binary: start it, edit the skill, see the reload and the diff;
//! break the file, see the diagnostic while the last good version keeps answering; fix it;
//! stop it with Ctrl-C.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::World;
use serde_json::{Value, json};

/// How long one reload may take before the test gives up (it takes milliseconds).
const WAIT: Duration = Duration::from_secs(20);

/// A running `skillet dev`, its output read line by line; killed when dropped.
struct Dev {
    child: Child,
    /// Kept open: the end of input stops `skillet dev`.
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Dev {
    fn start(w: &World, args: &[&str]) -> Dev {
        let mut child = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .arg("dev")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Dev {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line for which `wanted` holds, failing with everything seen after `WAIT`.
    fn until(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no {what} within {WAIT:?}; seen:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The next JSON reload report for which `wanted` holds.
    fn reload(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let line = self.until(what, |l| {
            serde_json::from_str::<Value>(l).is_ok_and(|v| v.get("number").is_some() && wanted(&v))
        });
        serde_json::from_str(&line).unwrap()
    }

    fn interrupt(&mut self) -> i32 {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
        self.wait()
    }

    fn wait(&mut self) -> i32 {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "skillet dev did not stop; seen:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn greet(version: &str) -> Value {
    json!({"name": "greet", "description": "Greets", "type": "code_inline",
           "command": "echo", "args": [version, "{who}"],
           "parameters": [{"name": "who", "type": "string", "required": true}]})
}

/// Writes as editors do: a new file renamed over the old one.
fn save_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("json.swp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn stdout_of(v: &Value) -> &str {
    v["run"]["stdout"].as_str().unwrap_or_default()
}

#[test]
fn a_save_reruns_the_skill_and_a_broken_save_keeps_the_last_good_version() {
    let w = World::new();
    let file = w.skill("greet", greet("hello"));
    let mut dev = Dev::start(&w, &["greet", "--param", "who=ann", "--json"]);
    let first = dev.reload("first run", |v| v["number"] == 0);
    assert_eq!(stdout_of(&first), "hello ann\n", "{first}");
    assert_eq!(first["validation"]["state"], "valid");
    assert!(first["run"]["execution_id"].as_str().is_some());

    // An edit: the new version runs, and the diff shows what changed.
    std::fs::write(&file, serde_json::to_string_pretty(&greet("hi")).unwrap()).unwrap();
    let edited = dev.reload("the edit's reload", |v| stdout_of(v) == "hi ann\n");
    assert_eq!(edited["validation"]["state"], "valid");
    assert_eq!(edited["output_changed"], true);
    let diff = edited["stdout_diff"].as_str().unwrap();
    assert!(
        diff.contains("-hello ann") && diff.contains("+hi ann"),
        "{diff}"
    );

    // A broken edit (a typo in a field name): the diagnostic, with file:line:col, and the
    // last good version still answers.
    let broken = serde_json::to_string_pretty(&greet("bye"))
        .unwrap()
        .replace("\"command\"", "\"comand\"");
    save_atomically(&file, &broken);
    let kept = dev.reload("the broken edit's report", |v| {
        v["validation"]["state"] == "kept_last_good"
    });
    let errors = kept["validation"]["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "{kept}");
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("comand")
                && e["position"]["line"].as_u64().is_some()
                && e["file"].as_str().unwrap().ends_with("greet.json")),
        "{kept}"
    );
    assert_eq!(
        stdout_of(&kept),
        "hi ann\n",
        "the last good version ran: {kept}"
    );

    // Broken text that is not even JSON: the same.
    std::fs::write(&file, "{\"name\": \"greet\",").unwrap();
    let kept = dev.reload("the unparsable edit's report", |v| {
        v["validation"]["state"] == "kept_last_good" && v["validation"]["errors"] != json!(errors)
    });
    assert_eq!(stdout_of(&kept), "hi ann\n", "{kept}");

    // Fixed: the new version runs.
    save_atomically(&file, &serde_json::to_string_pretty(&greet("bye")).unwrap());
    let fixed = dev.reload("the fix's reload", |v| stdout_of(v) == "bye ann\n");
    assert_eq!(fixed["validation"]["state"], "valid");

    assert_eq!(dev.interrupt(), 130, "Ctrl-C exits 130");

    // Dev runs neither read nor fill the user's result cache: the first real run runs.
    let mut cached = greet("bye");
    cached["cache"] = json!({"ttl": 300});
    std::fs::write(&file, serde_json::to_string_pretty(&cached).unwrap()).unwrap();
    let mut dev = Dev::start(&w, &["greet", "--param", "who=ann", "--json"]);
    dev.reload("the cached skill's run", |v| stdout_of(v) == "bye ann\n");
    assert_eq!(dev.interrupt(), 130);
    let (_, run) = w.run_json(&["greet", "--param", "who=ann"]);
    assert_ne!(run["cached"], true, "dev filled the cache: {run}");
    let (_, again) = w.run_json(&["greet", "--param", "who=ann"]);
    assert_eq!(
        again["cached"], true,
        "the cache works for real runs: {again}"
    );
}

#[test]
fn the_text_output_shows_the_diff_the_diagnostic_and_what_still_runs() {
    let w = World::new();
    let file = w.skill("greet", greet("hello"));
    let mut dev = Dev::start(&w, &["greet", "--param", "who=ann"]);
    dev.until("the first output", |l| l == "hello ann");
    std::fs::write(&file, serde_json::to_string_pretty(&greet("hi")).unwrap()).unwrap();
    dev.until("the removed line", |l| l == "-hello ann");
    dev.until("the added line", |l| l == "+hi ann");
    std::fs::write(
        &file,
        "{\"name\": \"greet\", \"type\": \"code_inline\", \"comand\": 1}",
    )
    .unwrap();
    dev.until("the notice", |l| {
        l.contains("the skill file is broken; still running the last good version")
    });
    // FILE:LINE:COL: error: ..., as `skillet validate` prints it.
    let diagnostic = dev.until("the diagnostic", |l| l.contains(": error: "));
    assert!(diagnostic.contains("greet.json:1:"), "{diagnostic}");
    dev.until("the unchanged output", |l| l.ends_with("output unchanged"));
    assert_eq!(dev.interrupt(), 130);
    dev.until("the goodbye", |l| l == "skillet dev: stopped");
}

#[test]
fn a_folder_skill_and_the_file_it_reads_are_watched_and_a_deleted_skill_stops_running() {
    let w = World::new();
    let show = |version: &str| {
        json!({"name": "show", "type": "code_inline", "command": "cat",
               "args": [version, "{file}"],
               "parameters": [{"name": "file", "type": "path", "required": true}]})
        .to_string()
    };
    let file = w.write(".skillet/skills/show/skill.json", &show("/dev/null"));
    let notes = w.write("notes.txt", "one\n");
    let mut dev = Dev::start(&w, &["show", "--param", "file=notes.txt", "--json"]);
    let first = dev.reload("first run", |v| v["number"] == 0);
    assert_eq!(stdout_of(&first), "one\n", "{first}");

    // The file a path parameter names is watched too.
    std::fs::write(&notes, "two\n").unwrap();
    dev.reload("the parameter file's reload", |v| stdout_of(v) == "two\n");

    // The folder skill's manifest, saved as editors do.
    save_atomically(&file, &show("-n"));
    dev.reload("the manifest's reload", |v| stdout_of(v).trim() == "1\ttwo");

    std::fs::remove_file(&file).unwrap();
    let gone = dev.reload("the deletion's report", |v| {
        v["validation"]["state"] == "missing"
    });
    assert!(
        gone.get("run").is_none(),
        "a deleted skill is not run: {gone}"
    );
    drop(dev.stdin.take());
    assert_eq!(dev.wait(), 0, "the end of input stops it");
}

#[test]
fn a_skill_that_does_not_exist_is_refused_with_a_suggestion() {
    let w = World::new();
    w.skill("greet", greet("hello"));
    let (code, _, err) = w.run(&["dev", "gret"]);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("did you mean `greet`?"), "{err}");
}

#[test]
fn a_skill_broken_at_the_start_waits_for_the_fix() {
    let w = World::new();
    let file = w.write(
        ".skillet/skills/greet.json",
        "{\"name\": \"greet\", \"oops\": 1}",
    );
    let mut dev = Dev::start(&w, &["greet", "--param", "who=ann", "--json"]);
    let first = dev.reload("first report", |v| v["number"] == 0);
    assert_eq!(first["validation"]["state"], "broken", "{first}");
    assert!(first.get("run").is_none());
    let mut stdin = dev.stdin.take().unwrap();
    save_atomically(
        &file,
        &serde_json::to_string_pretty(&greet("hello")).unwrap(),
    );
    let fixed = dev.reload("the fix", |v| stdout_of(v) == "hello ann\n");
    assert_eq!(fixed["validation"]["state"], "valid");
    stdin.write_all(b"ignored\n").unwrap();
    drop(stdin);
    assert_eq!(dev.wait(), 0);
}
