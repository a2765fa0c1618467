//! A grant of the global `skillet.toml` is for the skill the user meant, not for whatever skill
//! has its name: `[grants.NAME]` gives the user's own (global) skill its token, network and
//! raised limits, while a cloned repository's skill called NAME gets none of them unless the
//! grant lists that very workspace (`workspaces = [...]`), resolved, so neither a parent of it
//! nor a repository nested inside it counts.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::path::Path;

use common::World;
use serde_json::{Value, json};

const TOKEN: &str = "ghp_s3cr3t-0f-th3-us3r";

/// A skill called `gh` that prints the token it was given, tries the network, and asks for
/// both, and for more time than the user's cap.
fn gh_skill(tag: &str) -> Value {
    json!({
        "name": "gh", "description": "lists my issues", "type": "code_inline",
        "command": "sh",
        "args": ["-c", format!("echo {tag} token=${{GITHUB_TOKEN:-none}}")],
        "timeout": 20,
        "security": {"permissions": {"env_passthrough": ["GITHUB_TOKEN"], "network_access": true}}
    })
}

fn config(w: &World, grant: &str) {
    w.write(
        "~/.config/skillet/skillet.toml",
        &format!("[defaults]\ntimeout = 5\n\n[grants.gh]\nenv = [\"GITHUB_TOKEN\"]\nnetwork = true\nraise_limits = true\n{grant}"),
    );
}

/// `skillet run gh --json` from `dir`, with the user's token in the environment.
fn run_gh(w: &World, dir: &Path) -> Value {
    run_gh_with(w, dir, &[])
}

fn run_gh_with(w: &World, dir: &Path, extra: &[&str]) -> Value {
    let out = w
        .skillet()
        .current_dir(dir)
        .env("GITHUB_TOKEN", TOKEN)
        .args(["run", "gh", "--json"])
        .args(extra)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// What `skillet info gh --json` says the skill gets, run from `dir`.
fn policy(w: &World, dir: &Path) -> Value {
    let out = w
        .skillet()
        .current_dir(dir)
        .args(["info", "gh", "--json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn warnings(r: &Value) -> String {
    r["warnings"].to_string()
}

fn granted(r: &Value) -> bool {
    r["stdout"].as_str().unwrap_or("").contains(TOKEN)
}

#[test]
fn a_grant_by_name_alone_is_for_the_users_own_skill_not_a_workspaces() {
    let w = World::new();
    w.write(
        "~/.config/skillet/skills/gh.json",
        &gh_skill("own").to_string(),
    );
    config(&w, "");
    // The user's own skill gets what they granted it.
    let r = run_gh(&w, &w.ws);
    assert!(granted(&r), "the user's own skill lost its grant: {r}");
    assert!(r["stdout"].as_str().unwrap().contains("own"), "{r}");

    // A repository's skill of the same name, shadowing it, gets nothing of the grant: no
    // token, no network, and the user's cap on time; the run says why and what to add.
    w.skill("gh", gh_skill("repo"));
    let r = run_gh(&w, &w.ws);
    assert!(r["stdout"].as_str().unwrap().contains("repo"), "{r}");
    assert!(!granted(&r), "a workspace skill took the user's grant: {r}");
    let said = warnings(&r);
    assert!(
        said.contains("[grants.gh] of the global skillet.toml is not given")
            && said.contains("workspaces = ["),
        "{said}"
    );
    let info = policy(&w, &w.ws);
    let policy = &info["effective"]["policy"];
    assert_eq!(policy["network"], "none", "{info}");
    assert_eq!(policy["limits"]["timeout_s"], 5, "{info}");
}

#[test]
fn a_grant_listing_the_workspace_is_its_skills_wherever_it_is_named_from() {
    let w = World::new();
    w.skill("gh", gh_skill("repo"));
    let ws = std::fs::canonicalize(&w.ws).unwrap();
    std::os::unix::fs::symlink(&ws, w.home.join("proj")).unwrap();

    for listed in [ws.display().to_string(), "~/proj".to_owned()] {
        config(&w, &format!("workspaces = [{listed:?}]\n"));
        let r = run_gh(&w, &w.ws);
        assert!(granted(&r), "listed as {listed}: {r}");
        let info = policy(&w, &w.ws);
        let policy = &info["effective"]["policy"];
        assert_eq!(policy["network"], "host network", "{info}");
        assert_eq!(policy["limits"]["timeout_s"], 20, "{info}");
    }
}

#[test]
fn a_grant_for_one_workspace_is_not_for_its_parent_or_a_repository_inside_it() {
    let w = World::new();
    // A repository cloned inside the granted one (a vendored dependency, a test fixture) is a
    // workspace of its own, with its own `gh`.
    let nested = w.ws.join("vendor/evil");
    std::fs::create_dir_all(nested.join(".git")).unwrap();
    std::fs::create_dir_all(nested.join(".skillet/skills")).unwrap();
    std::fs::write(
        nested.join(".skillet/skills/gh.json"),
        gh_skill("nested").to_string(),
    )
    .unwrap();
    w.skill("gh", gh_skill("repo"));
    let ws = std::fs::canonicalize(&w.ws).unwrap();

    config(
        &w,
        &format!("workspaces = [{:?}]\n", ws.display().to_string()),
    );
    let r = run_gh(&w, &nested);
    assert!(r["stdout"].as_str().unwrap().contains("nested"), "{r}");
    assert!(!granted(&r), "a nested repository took the grant: {r}");
    assert!(
        warnings(&r).contains("its workspaces do not include this one"),
        "{r}"
    );
    // Nor when the command names the granted workspace: the skill is still the nested one's.
    let named = ws.display().to_string();
    let r = run_gh_with(&w, &nested, &["--workspace", &named]);
    assert!(r["stdout"].as_str().unwrap_or("").contains("nested"), "{r}");
    assert!(
        !granted(&r),
        "--workspace handed the nested skill the grant: {r}"
    );

    // Listing the parent of a workspace grants neither.
    let parent = ws.parent().unwrap().display().to_string();
    config(&w, &format!("workspaces = [{parent:?}, \"relative/ws\"]\n"));
    assert!(!granted(&run_gh(&w, &w.ws)));
    assert!(!granted(&run_gh(&w, &nested)));
}
