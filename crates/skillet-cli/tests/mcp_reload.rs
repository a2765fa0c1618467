//! The MCP server's hot reload keeps the last good version of a skill file broken mid-edit:
//! an agent never sees a tool vanish, or change to nothing, over a typo. Driven by the
//! official Python SDK (tests/mcp/last_good.py) in both its protocol modes.

#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use serde_json::json;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/last_good.py");
const REQUIREMENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/requirements.txt");

/// The venv with the official MCP Python SDK that tests/mcp_cli.rs also uses, created when its
/// requirements changed (under a lock, so parallel tests install once).
fn python() -> std::path::PathBuf {
    let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-venv");
    let marker = venv.join(".skillet-requirements");
    let wanted = std::fs::read_to_string(REQUIREMENTS).unwrap();
    let ready = || std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted);
    if !ready() {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(venv.with_extension("lock"))
            .unwrap();
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
        if !ready() {
            let _ = std::fs::remove_dir_all(&venv);
            let made = std::process::Command::new(common::interpreter("python3"))
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .unwrap();
            assert!(
                made.success(),
                "cannot create a venv (is python3-venv installed?)"
            );
            let pip = std::process::Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(REQUIREMENTS)
                .status()
                .unwrap();
            assert!(pip.success(), "pip could not install {REQUIREMENTS}");
            std::fs::write(&marker, &wanted).unwrap();
        }
    }
    venv.join("bin/python")
}

#[test]
fn a_skill_broken_mid_edit_keeps_its_last_good_version_until_fixed_or_deleted() {
    for mode in ["auto", "legacy"] {
        let w = World::new();
        w.skill(
            "echo",
            json!({"name": "echo", "description": "Echo a word", "type": "code_inline",
                   "command": "echo", "args": ["v1", "{word}"],
                   "parameters": [{"name": "word", "type": "string", "required": true}]}),
        );
        assert_eq!(w.run(&["trust"]).0, 0);
        let out = w
            .command(&python())
            .arg(CLIENT)
            .arg("--target")
            .arg(assert_cmd::cargo::cargo_bin("skillet"))
            .args(["--mode", mode, "--ws"])
            .arg(&w.ws)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode}: {stderr}\n{stdout}");
        // The server says why it still serves the old version, with the diagnostic.
        assert!(
            stderr.contains("skill `echo` is broken now, still serving its last good version"),
            "{mode}: {stderr}"
        );
        assert!(
            stderr.contains("echo.json:") && stderr.contains("comand"),
            "{mode}: {stderr}"
        );
    }
}
