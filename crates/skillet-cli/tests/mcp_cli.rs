//! `skillet mcp` and `skillet serve --http`, driven by real MCP clients: the official Python SDK
//! (pinned in tests/mcp/requirements.txt, installed once into a venv under target/tmp) in both
//! its `auto` (2026-07-28, `server/discover`) and `legacy` (`initialize`) modes, and raw HTTP for
//! the transport's guards. The checks an agent would make live in tests/mcp/client.py.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{World, interpreter};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A trusted workspace with one skill of each kind, a disabled skill, and two SKILL.md folders
/// (one disabled).
fn world() -> World {
    let w = World::new();
    w.skill(
        "echo",
        json!({"name": "echo", "description": "Echo a word", "type": "code_inline",
               "command": "echo", "args": ["{word}", "{times}"],
               "parameters": [
                   {"name": "word", "type": "string", "required": true, "pattern": "[a-z]+"},
                   {"name": "times", "type": "integer", "min": 1, "max": 3, "default": 1},
                   {"name": "mode", "type": "enum", "values": ["plain", "loud"]}]}),
    );
    w.skill(
        "fail",
        json!({"name": "fail", "description": "Fails", "type": "code_inline",
               "command": "sh", "args": ["-c", "echo oops >&2; exit 3"]}),
    );
    w.skill(
        "py",
        json!({"name": "py", "description": "Python", "type": "code_session",
               "command": interpreter("python3")}),
    );
    w.skill(
        "greet",
        json!({"name": "greet", "description": "Greeting", "type": "prompt_inline",
               "prompt_template": "Say hello to {who}.",
               "parameters": [{"name": "who", "type": "string", "required": true}]}),
    );
    w.skill(
        "explain",
        json!({"name": "explain", "description": "Explain", "type": "conversation",
               "prompt_template": "Explain {topic}.",
               "parameters": [{"name": "topic", "type": "string", "default": "the code"}],
               "context_files": {"patterns": ["src/**/*.rs"]},
               "guided_questions": ["Which part?"]}),
    );
    w.skill(
        "off",
        json!({"name": "off", "type": "code_inline", "command": "true"}),
    );
    w.write(
        ".claude/skills/review/SKILL.md",
        "---\nname: review\ndescription: Review a change\n---\nReview the diff.\n",
    );
    w.write(".claude/skills/review/scripts/run.sh", "echo hi\n");
    w.write(
        ".claude/skills/secret/SKILL.md",
        "---\nname: secret\ndescription: Hidden\n---\nNo.\n",
    );
    w.write("src/main.rs", "fn main() {}\n");
    for args in [&["trust"][..], &["disable", "off"], &["disable", "secret"]] {
        let (code, _, err) = w.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    w
}

/// Runs one client.py scenario against `target` (the skillet binary, or a URL) and returns
/// its JSON summary; a failed check fails the test with the client's own message.
fn client(w: &World, target: &str, mode: &str, scenario: &str, extra: &[&str]) -> Value {
    let out = w
        .command(&common::mcp::python())
        .arg(CLIENT)
        .args(["--target", target, "--mode", mode, "--ws"])
        .arg(&w.ws)
        .args(extra)
        .arg(scenario)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{scenario} ({mode}) failed:\n{stderr}\n{stdout}"
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn skillet_bin() -> String {
    assert_cmd::cargo::cargo_bin("skillet")
        .display()
        .to_string()
}

/// `skillet serve --http` in the world, stopped when dropped.
struct HttpServer {
    child: Child,
    url: String,
    addr: String,
    /// The token it made up and printed, when it did.
    token: Option<String>,
}

impl HttpServer {
    /// The arguments that give client.py the server's token.
    fn token_args(&self) -> Vec<&str> {
        match &self.token {
            Some(token) => vec!["--token", token],
            None => Vec::new(),
        }
    }

    fn start(w: &World, addr: &str, extra: &[&str]) -> HttpServer {
        let mut child = w
            .command(&assert_cmd::cargo::cargo_bin("skillet"))
            .args(["serve", "--http", addr])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let (token_tx, token_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("Authorization: Bearer ") {
                    let token = &line[at + "Authorization: Bearer ".len()..];
                    let _ = token_tx.send(token.trim_end_matches('`').to_owned());
                }
                if let Some(at) = line.find("serving MCP on ") {
                    let _ = tx.send(
                        line[at + "serving MCP on ".len()..]
                            .split(' ')
                            .next()
                            .unwrap_or("")
                            .to_owned(),
                    );
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server never said where it serves");
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches("/mcp")
            .to_owned();
        let token = token_rx.try_recv().ok();
        HttpServer {
            child,
            url,
            addr,
            token,
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::TERM,
        );
        let _ = self.child.wait();
    }
}

/// Checks that every execution id is in the history, recorded as an MCP call with its request id.
fn recorded_as_mcp(w: &World, summary: &Value) {
    let (code, out, err) = w.run(&["history", "--json", "--limit", "0"]);
    assert_eq!(code, 0, "{err}");
    let history: Vec<Value> = serde_json::from_str(&out).unwrap();
    for id in summary["execution_ids"].as_array().unwrap() {
        let row = history
            .iter()
            .find(|r| r["id"] == *id)
            .unwrap_or_else(|| panic!("{id} not in the history"));
        assert_eq!(row["origin"], "mcp", "{row}");
        assert!(
            row["request_id"].as_str().is_some_and(|r| !r.is_empty()),
            "{row}"
        );
    }
}

#[test]
fn stdio_tour_with_the_2026_protocol() {
    let w = world();
    let summary = client(&w, &skillet_bin(), "auto", "tour", &[]);
    assert_eq!(summary["protocol"], "2026-07-28");
    recorded_as_mcp(&w, &summary);
}

#[test]
fn stdio_tour_with_the_initialize_handshake() {
    let w = world();
    let summary = client(&w, &skillet_bin(), "legacy", "tour", &[]);
    assert_eq!(summary["protocol"], "2025-11-25");
    recorded_as_mcp(&w, &summary);
}

#[test]
fn http_tour_in_both_modes() {
    let w = world();
    let server = HttpServer::start(&w, "127.0.0.1:0", &[]);
    for (mode, version) in [("auto", "2026-07-28"), ("legacy", "2025-11-25")] {
        let summary = client(&w, &server.url, mode, "tour", &server.token_args());
        assert_eq!(summary["protocol"], version);
        recorded_as_mcp(&w, &summary);
    }
}

#[test]
fn a_conversation_tool_is_held_with_the_configured_model() {
    let w = world();
    let llm = common::llm::Llm::start();
    llm.configure_keyless(&w, "openai", "");
    llm.mount(
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path("/v1/chat/completions"))
            .respond_with(common::llm::Sequence::new(vec![
                common::llm::openai_answer(&["It starts ", "the program."]),
                common::llm::openai_answer(&["It has none."]),
                common::llm::openai_answer(&["main starts it; no errors handled."]),
                common::llm::openai_answer(&["Fine."]),
                common::llm::openai_answer(&["Still fine."]),
            ])),
    );
    let summary = client(&w, &skillet_bin(), "auto", "conversation", &[]);
    assert_eq!(
        summary["first"]["summary"],
        "main starts it; no errors handled."
    );
    let bodies = llm.bodies();
    assert_eq!(
        bodies.len(),
        5,
        "two answers and a summary, then one more and a summary"
    );
    let first = bodies[0]["messages"][1]["content"].as_str().unwrap();
    assert_eq!(
        first,
        "<file path=\"src/main.rs\">\nfn main() {}\n</file>\n\nExplain main.\n\nQ: Which part?\nA: the entry point"
    );
    assert_eq!(bodies[1]["messages"][3]["content"], "and errors?");
    assert_eq!(
        bodies[3]["messages"].as_array().unwrap().len(),
        6,
        "system, 2 exchanges, the new message"
    );
    let (code, out, err) = w.run(&["history", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"origin\": \"mcp\""), "{out}");
}

#[test]
fn stdio_clients_are_told_when_a_skill_is_added() {
    for mode in ["auto", "legacy"] {
        let w = world();
        let summary = client(&w, &skillet_bin(), mode, "reload", &[]);
        assert!(
            summary["tools_after"]
                .as_array()
                .unwrap()
                .contains(&json!("added"))
        );
    }
}

#[test]
fn http_clients_are_told_when_a_skill_is_added() {
    for mode in ["auto", "legacy"] {
        let w = world();
        let server = HttpServer::start(&w, "127.0.0.1:0", &[]);
        let summary = client(&w, &server.url, mode, "reload", &server.token_args());
        assert!(
            summary["tools_after"]
                .as_array()
                .unwrap()
                .contains(&json!("added"))
        );
    }
}

#[test]
fn agent_skills_are_published_with_digests_and_hidden_ones_are_not() {
    let w = world();
    let answers = client(&w, &skillet_bin(), "legacy", "skills", &[]);
    let skills = answers["list"]["result"]["skills"].as_array().unwrap();
    assert_eq!(skills.len(), 1, "only the enabled folder: {skills:?}");
    assert_eq!(skills[0]["uri"], "skill://review/SKILL.md");
    for resource in skills[0]["resources"].as_array().unwrap() {
        let rel = resource["uri"]
            .as_str()
            .unwrap()
            .trim_start_matches("skill://");
        let bytes = std::fs::read(w.path(&format!(".claude/skills/{rel}"))).unwrap();
        let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
        assert_eq!(resource["digest"], digest.as_str(), "{rel}");
        assert_eq!(resource["size"], bytes.len());
    }
    assert_eq!(answers["get"]["result"]["skill"], skills[0]);
    assert_eq!(
        answers["read"]["result"]["contents"][0]["text"],
        "echo hi\n"
    );
    assert!(
        answers["hidden"]["error"].is_object(),
        "{}",
        answers["hidden"]
    );
}

#[test]
fn an_untrusted_workspace_offers_nothing_and_says_why() {
    let w = world();
    w.run(&["trust", "--revoke"]);
    let out = w
        .command(&common::mcp::python())
        .arg(CLIENT)
        .args(["--target", &skillet_bin(), "--ws"])
        .arg(&w.ws)
        .arg("names")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let names: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(names, json!({"tools": [], "prompts": []}));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this workspace is not trusted; `skillet trust` serves them"),
        "{stderr}"
    );
}

#[test]
fn two_hundred_concurrent_http_calls_are_all_answered() {
    let w = world();
    let server = HttpServer::start(&w, "127.0.0.1:0", &[]);
    let mut extra = vec!["--calls", "200"];
    extra.extend(server.token_args());
    let summary = client(&w, &server.url, "auto", "load", &extra);
    assert_eq!(summary["calls"], 200, "{summary}");
}

/// One POST of an `initialize` request; the HTTP status.
fn post(addr: &str, headers: &[(&str, &str)]) -> u16 {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).unwrap();
    String::from_utf8_lossy(&status[9..12]).parse().unwrap()
}

#[test]
fn http_off_loopback_needs_a_strong_token() {
    let w = world();
    let (code, _, err) = w.run(&["serve", "--http", "0.0.0.0:0", "--no-auth"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("is not a loopback address") && err.contains("--auth-token"),
        "{err}"
    );
    let (code, _, err) = w.run(&["serve", "--http", "0.0.0.0:0", "--auth-token", "short"]);
    assert_ne!(code, 0);
    assert!(err.contains("too short"), "{err}");
}

#[test]
fn http_checks_the_bearer_token_and_the_origin() {
    let w = world();
    let server = HttpServer::start(&w, "0.0.0.0:0", &["--auth-token", TOKEN]);
    let port = server.addr.rsplit(':').next().unwrap();
    let local = format!("127.0.0.1:{port}");
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(post(&local, &[]), 401, "no token");
    assert_eq!(
        post(
            &local,
            &[("Authorization", "Bearer wrong-token-wrong-token")]
        ),
        401
    );
    assert_eq!(post(&local, &[("Authorization", &bearer)]), 200);
    let evil = [
        ("Authorization", bearer.as_str()),
        ("Origin", "http://evil.example"),
    ];
    assert_eq!(post(&local, &evil), 403, "a foreign browser origin");
    let own = format!("http://localhost:{port}");
    let ok = [("Authorization", bearer.as_str()), ("Origin", own.as_str())];
    assert_eq!(post(&local, &ok), 200);
    let url = format!("http://{local}/mcp");
    let names = client(&w, &url, "auto", "names", &["--token", TOKEN]);
    assert!(
        names["tools"].as_array().unwrap().contains(&json!("echo")),
        "{names}"
    );
}

/// Node 22 and the MCP Inspector, installed once from npm under target/tmp; `None`, with the
/// reason printed, when npm cannot provide them.
fn inspector() -> Option<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-inspector");
    let node = dir.join("node_modules/node/bin/node");
    let script =
        dir.join("node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js");
    let ready = || node.is_file() && script.is_file();
    let installed = common::mcp::install_once(&dir, ready, || {
        let npm = std::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&dir)
            .args(["node@22.23.3", "@modelcontextprotocol/inspector@2.12.0"])
            .status();
        if !matches!(npm, Ok(s) if s.success()) {
            eprintln!("npm install failed: {npm:?}");
        }
        true
    });
    if !installed {
        eprintln!("SKIPPED: npm could not install node@22 and the MCP Inspector");
        return None;
    }
    Some((node, script))
}

#[test]
fn the_mcp_inspector_lists_and_calls_tools() {
    let Some((node, script)) = inspector() else {
        return;
    };
    let w = world();
    // The Inspector's CLI sends no Authorization header.
    let server = HttpServer::start(&w, "127.0.0.1:0", &["--no-auth"]);
    let stdio: [&str; 3] = ["--", &skillet_bin(), "mcp"];
    for target in [&stdio[..], &["--transport", "http", &server.url][..]] {
        // The Inspector exits 1 after printing a result with isError set.
        let run = |args: &[&str], expect_ok: bool| -> Value {
            let out = w
                .command(&node)
                .arg(&script)
                .args(["--cli", "--cwd"])
                .arg(&w.ws)
                .args(args)
                .args(target)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.success(),
                expect_ok,
                "inspector {args:?} {target:?}: {}\n{stdout}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
        };
        let listed = run(&["--method", "tools/list"], true);
        let names: Vec<&str> = listed["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "echo", "explain", "fail", "greet", "py", "py.close", "review"
            ],
            "{target:?}"
        );
        let called = run(
            &[
                "--method",
                "tools/call",
                "--tool-name",
                "echo",
                "--tool-arg",
                "word=hi",
                "times=2",
            ],
            true,
        );
        assert_eq!(called["content"][0]["text"], "hi 2\n", "{target:?}");
        assert_eq!(called["isError"], false);
        let failed = run(&["--method", "tools/call", "--tool-name", "fail"], false);
        assert_eq!(failed["isError"], true, "{failed}");
    }
}

#[test]
fn an_mcp_tool_runs_at_the_workspace_root_not_where_the_server_started_nor_in_its_folder() {
    let w = world();
    w.write(
        ".skillet/skills/where/skill.json",
        &json!({"name": "where", "description": "Where it runs", "type": "code_inline",
               "command": interpreter("sh"),
               "args": ["-c", "pwd; echo \"$SKILLET_SKILL_DIR\"; echo \"$1\"", "sh", "{skill_dir}/{word}"],
               "parameters": [{"name": "word", "type": "string", "required": true}]})
        .to_string(),
    );
    std::fs::create_dir_all(w.path("src/deep")).unwrap();
    let out = w
        .command(&common::mcp::python())
        .arg(CLIENT)
        .args(["--target", &skillet_bin(), "--try-call", "where", "--ws"])
        .arg(w.path("src/deep"))
        .arg("names")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let ws = std::fs::canonicalize(&w.ws).unwrap();
    let folder = ws.join(".skillet/skills/where");
    assert_eq!(
        answer["call"]["text"],
        format!(
            "{}\n{}\n{}/x\n",
            ws.display(),
            folder.display(),
            folder.display()
        ),
        "{answer}"
    );
}
