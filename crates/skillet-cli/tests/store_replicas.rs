//! Three `skillet serve --http` replicas on one PostgreSQL database, as a team runs them behind
//! a load balancer, while the database goes away and comes back (issue 26's fault test): every
//! call completes, none is lost from the shared history or kept twice, and every replica finds
//! the database again by itself.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use common::World;
use common::served::Served;
use serde_json::{Value, json};
use skillet_store_postgres::test_server::PrivateCluster;

const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");
const REPLICAS: usize = 3;
const CALLS_EACH: usize = 167;

/// A machine serving the team store.
fn replica(url: &str) -> World {
    let w = World::new();
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!("[store]\nurl = \"{url}\"\n"),
    );
    w.skill(
        "echo",
        json!({"name": "echo", "description": "Echo a word", "type": "code_inline",
               "command": "echo", "args": ["{word}", "{times}"],
               "parameters": [
                   {"name": "word", "type": "string", "required": true, "pattern": "[a-z]+"},
                   {"name": "times", "type": "integer", "default": 1}]}),
    );
    let (code, _, stderr) = w.run(&["trust"]);
    assert_eq!(code, 0, "{stderr}");
    w
}

/// `calls` tool calls sent at once to `server` by the official SDK, each answer checked.
fn load(w: &World, server: &Served, calls: usize) -> std::process::Child {
    w.command(&common::mcp::python())
        .arg(CLIENT)
        .args(["--target", &server.url, "--token", &server.token, "--ws"])
        .arg(&w.ws)
        .args(["--calls", &calls.to_string(), "load"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: std::process::Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "a client's calls did not all complete: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_database_restart_under_three_replicas_loses_no_call() {
    let Some(cluster) = PrivateCluster::start() else {
        return;
    };
    let machines: Vec<World> = (0..REPLICAS).map(|_| replica(cluster.url())).collect();
    let servers: Vec<Served> = machines.iter().map(Served::start).collect();
    // The database goes away before the calls come, and comes back while they run.
    cluster.stop();
    let clients: Vec<_> = machines
        .iter()
        .zip(&servers)
        .map(|(w, s)| load(w, s, CALLS_EACH))
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    cluster.restart();
    for client in clients {
        finish(client);
    }
    // One more call each, made with the database up: a replica whose calls all ended while it
    // was down writes what it kept with this one.
    for (w, s) in machines.iter().zip(&servers) {
        finish(load(w, s, 1));
    }

    let (code, stdout, stderr) = machines[0].run(&["history", "echo", "--json", "--limit", "0"]);
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let mcp: Vec<&Value> = rows.iter().filter(|r| r["origin"] == "mcp").collect();
    let ids: std::collections::HashSet<&str> =
        mcp.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let expected = REPLICAS * (CALLS_EACH + 1);
    assert_eq!(
        (mcp.len(), ids.len()),
        (expected, expected),
        "every call once in the shared history"
    );
    assert!(
        mcp.iter().all(|r| r["status"] == "ok"),
        "every call ran to its end"
    );
}
