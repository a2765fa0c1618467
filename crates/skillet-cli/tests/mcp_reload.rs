//! The MCP server's hot reload keeps the last good version of a skill file broken mid-edit:
//! an agent never sees a tool vanish, or change to nothing, over a typo. Driven by the
//! official Python SDK (tests/mcp/last_good.py) in both its protocol modes.

#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use serde_json::json;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/last_good.py");

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
            .command(&common::mcp::python())
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
