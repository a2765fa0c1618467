//! The official MCP Python SDK the MCP tests drive skillet with: one venv for every test binary,
//! built from tests/mcp/requirements.txt when those change.

use std::path::{Path, PathBuf};

use super::interpreter;

const REQUIREMENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/requirements.txt");

/// Runs `install` unless `ready()`, holding a lock beside `dir` so that tests running in
/// parallel (in this binary or another) install once while the others wait. Returns whether it
/// is ready.
pub fn install_once(dir: &Path, ready: impl Fn() -> bool, install: impl FnOnce() -> bool) -> bool {
    if ready() {
        return true;
    }
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.with_extension("lock"))
        .unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    ready() || (install() && ready())
}

/// The venv's Python, creating the venv first if its requirements changed.
pub fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-venv");
    let marker = venv.join(".skillet-requirements");
    let wanted = std::fs::read_to_string(REQUIREMENTS).unwrap();
    let ready = || std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted);
    let installed = install_once(&venv, ready, || {
        let _ = std::fs::remove_dir_all(&venv);
        // The system interpreter, so an unprivileged test user can run the venv too.
        let made = std::process::Command::new(interpreter("python3"))
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
        true
    });
    assert!(installed);
    venv.join("bin/python")
}
