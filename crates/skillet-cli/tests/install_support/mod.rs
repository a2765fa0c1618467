//! Packages, git repositories and an HTTP server for the install tests: all real (the `git`
//! and `tar` programs, a TCP listener on loopback), all inside the test's World.

#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used)] // test fixtures: a failure here is a broken test machine

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

/// Writes a package `name` `version` at `dir` with `skills` skills `s00`, `s01`…, each a
/// code skill asking for `asks` (a `permissions` object), and the given dependencies.
pub fn package(
    dir: &Path,
    name: &str,
    version: &str,
    skills: usize,
    asks: serde_json::Value,
    deps: &[(&str, &str)],
) {
    fs::create_dir_all(dir).unwrap();
    let names: Vec<String> = (0..skills).map(|i| format!("{name}-s{i:02}")).collect();
    let list: Vec<String> = names.iter().map(|n| format!("\"skills/{n}\"")).collect();
    let mut toml = format!(
        "[package]\nname = \"{name}\"\nversion = \"{version}\"\ndescription = \"test package {name}\"\nskills = [{}]\n",
        list.join(", ")
    );
    if !deps.is_empty() {
        toml.push_str("\n[dependencies]\n");
        for (d, r) in deps {
            toml.push_str(&format!("{d} = \"{r}\"\n"));
        }
    }
    fs::write(dir.join("skillet-package.toml"), toml).unwrap();
    for n in &names {
        let skill = dir.join("skills").join(n);
        fs::create_dir_all(&skill).unwrap();
        let mut spec = json!({
            "name": n,
            "description": format!("skill {n}"),
            "type": "code_inline",
            "command": "echo",
            "args": [format!("hello from {n}")],
        });
        if asks != json!({}) {
            spec["security"] = json!({ "permissions": asks });
        }
        fs::write(
            skill.join("skill.json"),
            serde_json::to_string_pretty(&spec).unwrap(),
        )
        .unwrap();
    }
}

/// Runs a program, panicking with its output when it fails.
pub fn sh(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.test")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.test")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Makes `work` a git repository, commits everything in it, tags it `tag`, and pushes it to
/// a bare repository beside it; returns the bare repository's `file://` URL.
pub fn git_publish(work: &Path, tag: &str) -> String {
    let bare = work.with_extension("git");
    if !bare.exists() {
        sh(
            work.parent().unwrap(),
            "git",
            &["init", "-q", "--bare", bare.to_str().unwrap()],
        );
        sh(work, "git", &["init", "-q", "-b", "main"]);
        sh(
            work,
            "git",
            &["remote", "add", "origin", bare.to_str().unwrap()],
        );
    }
    sh(work, "git", &["add", "-A"]);
    sh(work, "git", &["commit", "-q", "-m", tag]);
    sh(work, "git", &["tag", tag]);
    sh(work, "git", &["push", "-q", "origin", "main", "--tags"]);
    format!("file://{}", bare.display())
}

/// A `.tar.gz` of `dir`'s contents (made by the `tar` program) and its sha256.
pub fn archive(dir: &Path, out: &Path) -> String {
    sh(
        dir,
        "tar",
        &[
            "czf",
            out.to_str().unwrap(),
            "-C",
            dir.to_str().unwrap(),
            ".",
        ],
    );
    sha256(&fs::read(out).unwrap())
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serves `body` for every GET on 127.0.0.1 (one thread, any number of requests) and returns
/// the base URL.
pub fn serve(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}")
}

/// Every file under `dir` (relative path -> contents), skipping nothing: what a user has.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// The workspace's installed packages folder.
pub fn packages(ws: &Path) -> PathBuf {
    ws.join(".skillet/packages")
}
