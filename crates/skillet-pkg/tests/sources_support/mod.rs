//! Shared by the source tests: a real HTTP server on 127.0.0.1, hand-made tar archives (with
//! the hostile entries a real `tar` tool refuses to write), and real git repositories.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// What the server answers for a path.
#[derive(Clone)]
pub enum Route {
    /// 200 with these bytes.
    Body(Vec<u8>),
    /// 200 announcing `len` bytes, sending `sent` of them, then nothing for a long time.
    Stall { len: usize, sent: Vec<u8> },
    /// This status with an empty body.
    Status(u16, &'static str),
    /// 302 to this location.
    Redirect(String),
}

/// A real HTTP/1.1 server on a free loopback port, one thread per connection.
pub struct Server {
    pub base: String,
    pub port: u16,
}

pub fn serve(routes: BTreeMap<String, Route>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let address = listener.local_addr().expect("address");
    let base = format!("http://{address}");
    let port = address.port();
    let routes = Arc::new(routes);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let routes = Arc::clone(&routes);
            thread::spawn(move || answer(stream, &routes));
        }
    });
    Server { base, port }
}

fn answer(mut stream: TcpStream, routes: &BTreeMap<String, Route>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    let _ = match routes
        .get(&path)
        .cloned()
        .unwrap_or(Route::Status(404, "Not Found"))
    {
        Route::Body(body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(&body))
        }
        Route::Stall { len, sent } => {
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&sent);
            let _ = stream.flush();
            thread::sleep(Duration::from_secs(60));
            Ok(())
        }
        Route::Redirect(to) => stream.write_all(
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        ),
        Route::Status(code, reason) => stream.write_all(
            format!("HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        ),
    };
}

/// One entry of a hand-made archive.
pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Exec(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    Fifo(&'a str),
    CharDevice(&'a str),
    /// Any type, with its data.
    Raw(&'a str, tar::EntryType, &'a [u8]),
}

/// A `.tar.gz` of `entries`, names written raw into the headers (so `..` and absolute names
/// go in as an attacker would write them).
pub fn tar_gz(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (name, kind, data, link, mode): (&str, tar::EntryType, &[u8], Option<&str>, u32) =
            match entry {
                Entry::File(name, data) => (name, tar::EntryType::Regular, data, None, 0o644),
                Entry::Exec(name, data) => (name, tar::EntryType::Regular, data, None, 0o755),
                Entry::Dir(name) => (name, tar::EntryType::Directory, b"", None, 0o755),
                Entry::Symlink(name, to) => (name, tar::EntryType::Symlink, b"", Some(to), 0o777),
                Entry::HardLink(name, to) => (name, tar::EntryType::Link, b"", Some(to), 0o644),
                Entry::Fifo(name) => (name, tar::EntryType::Fifo, b"", None, 0o644),
                Entry::CharDevice(name) => (name, tar::EntryType::Char, b"", None, 0o644),
                Entry::Raw(name, kind, data) => (name, *kind, data, None, 0o644),
            };
        {
            let gnu = header.as_gnu_mut().expect("gnu header");
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(link) = link {
                gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
        }
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append(&header, data).expect("append entry");
    }
    let tar = builder.into_inner().expect("finish tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("gzip");
    gz.finish().expect("gzip finish")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every path under `root`, relative, sorted (links not followed).
pub fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .expect("under root")
            .display()
            .to_string();
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            out.push(format!("{rel}/"));
            walk(root, &path, out);
        } else if kind.is_symlink() {
            out.push(format!("{rel} -> link"));
        } else {
            out.push(rel);
        }
    }
}

/// Runs git with a fixed identity and no user config, failing the test on an error.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.test",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A repository with three commits on `main` (tag `v1` annotated at the first, a `feature`
/// branch at the second), pushed to a bare repository; returns (bare path, commits).
pub struct Repo {
    pub bare: PathBuf,
    pub commits: Vec<String>,
}

pub fn make_repo(base: &Path) -> Repo {
    let work = base.join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q"]);
    let write = |rel: &str, text: &str| {
        let path = work.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let mut commits = Vec::new();
    write("SKILL.md", "version one\n");
    write("pkg/sub/SKILL.md", "sub one\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "one"]);
    git(&work, &["tag", "-a", "v1", "-m", "v1"]);
    commits.push(git(&work, &["rev-parse", "HEAD"]));
    write("SKILL.md", "version two\n");
    git(&work, &["commit", "-q", "-am", "two"]);
    git(&work, &["branch", "feature"]);
    commits.push(git(&work, &["rev-parse", "HEAD"]));
    write("SKILL.md", "version three\n");
    git(&work, &["commit", "-q", "-am", "three"]);
    commits.push(git(&work, &["rev-parse", "HEAD"]));
    let bare = base.join("repo.git");
    git(
        base,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().expect("utf-8"),
            bare.to_str().expect("utf-8"),
        ],
    );
    Repo { bare, commits }
}
