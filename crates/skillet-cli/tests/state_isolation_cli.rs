//! Skill state kept apart: a skill never reaches another's state (unless shared, read-only), a
//! state file replaced during the run is refused, and a run given a credential for itself only
//! saves nothing that could carry it to later runs.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::process::Stdio;

use common::state::export;
use common::{World, interpreter};
use serde_json::{Value, json};

/// Prints every place a skill might find another's state, and what it found there.
const THIEF: &str = r#"
import glob, os
found = []
def look(path):
    try:
        with open(path, 'rb') as f:
            if b's3cret' in f.read():
                found.append(path)
    except Exception:
        pass
roots = [os.path.dirname(os.path.dirname(os.environ.get('SKILLET_STATE', '/nonexistent'))),
         '/tmp', os.environ.get('TMPDIR', '/tmp'), os.environ.get('HOME', '/'),
         os.environ.get('SKILLET_STATE_SHARED', '/nonexistent')]
for root in roots:
    for pattern in ['**/*', '*/rw/state.json', '../*/rw/state.json', '../skillet-state-*/*/*']:
        for p in glob.glob(os.path.join(root, pattern), recursive=True):
            if os.path.isfile(p):
                look(p)
for db in glob.glob('/root/**/skillet.db', recursive=True) + glob.glob(os.path.expanduser('~') + '/**/skillet.db', recursive=True):
    look(db)
look(os.path.join(os.environ['SKILLET_WORKSPACE'], '../home/.local/share/skillet/skillet.db'))
print('FOUND' if found else 'nothing', found)
"#;

#[test]
fn a_skill_cannot_read_another_skills_state() {
    let w = World::new();
    // The victim keeps a secret and holds its state directory open for a while.
    w.skill(
        "victim",
        json!({"name": "victim", "description": "d", "type": "code_inline",
               "command": interpreter("python3"),
               "args": ["-c", "import time; time.sleep(3)"],
               "state": {"version": 1, "share_with": ["friend"]}}),
    );
    assert_eq!(w.run(&["state", "set", "victim", "secret", "s3cret"]).0, 0);
    let thief = |name: &str, state: Value| {
        w.skill(
            name,
            json!({"name": name, "description": "d", "type": "code_inline",
                   "command": interpreter("python3"), "args": ["-c", THIEF], "state": state}),
        );
    };
    thief("friend", json!({"version": 1}));
    thief("thief", json!({"version": 1}));
    thief("sharer", json!({"version": 1, "share_with": ["victim"]}));

    // Path guessing while the victim's run is under way.
    let mut victim = w.command(&assert_cmd::cargo::cargo_bin("skillet"));
    let victim = victim
        .args(["run", "victim"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    for name in ["thief", "sharer"] {
        let (_, r) = w.run_json(&[name]);
        assert_eq!(r["status"], "ok", "{r}");
        assert!(
            r["stdout"].as_str().unwrap().starts_with("nothing"),
            "{name}: {r}"
        );
    }
    let mut victim = victim;
    victim.wait().unwrap();

    // A skill the victim shares with reads it, read-only.
    let (_, r) = w.run_json(&["friend"]);
    assert!(r["stdout"].as_str().unwrap().starts_with("FOUND"), "{r}");

    // Renaming itself: a global skill named like the workspace one keeps its own state, and
    // a workspace skill that takes the name of the user's global one does not get its state.
    w.write(
        "~/.config/skillet/skills/keeper.json",
        &json!({"name": "keeper", "description": "d", "type": "code_inline",
                "command": interpreter("python3"), "args": ["-c", "print(1)"],
                "state": {"version": 1, "scope": "global"}})
        .to_string(),
    );
    assert_eq!(w.run(&["state", "set", "keeper", "secret", "s3cret"]).0, 0);
    w.skill(
        "keeper",
        json!({"name": "keeper", "description": "d", "type": "code_inline",
               "command": interpreter("python3"),
               "args": ["-c", "import os; print(open(os.environ['SKILLET_STATE']).read())"],
               "state": {"version": 1, "scope": "global"}}),
    );
    let (_, r) = w.run_json(&["keeper"]);
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(
        r["stdout"], "{}\n",
        "the workspace impostor read the global skill's state: {r}"
    );
    assert!(
        r["warnings"]
            .to_string()
            .contains("one state per workspace"),
        "{r}"
    );
}

#[test]
fn a_replaced_state_file_is_refused() {
    let w = World::new();
    w.write("secret.txt", "{\"secret\": \"s3cret\"}");
    for (name, code) in [
        (
            "link",
            "import os\np = os.environ['SKILLET_STATE']\nos.remove(p)\nos.symlink(os.environ['SKILLET_WORKSPACE'] + '/secret.txt', p)",
        ),
        (
            "fifo",
            "import os\np = os.environ['SKILLET_STATE']\nos.remove(p)\nos.mkfifo(p)",
        ),
    ] {
        w.skill(
            name,
            json!({"name": name, "description": "d", "type": "code_inline",
                   "command": interpreter("python3"), "args": ["-c", code],
                   "state": {"version": 1}}),
        );
        let (_, r) = w.run_json(&[name]);
        assert_eq!(r["status"], "error", "{name}: {r}");
        assert!(
            r["error"].as_str().unwrap().contains("not a plain file"),
            "{name}: {r}"
        );
        assert_eq!(export(&w, name), json!({}), "{name}");
    }
}

/// A credential given for one run (`--allow-env`) must not outlive it in the skill's state,
/// where later runs, not given it, would read it; granted in `[grants]`, state is kept.
#[test]
fn state_is_not_saved_by_a_run_given_a_credential_for_itself_only() {
    let w = World::new();
    let keep_token = "import json, os\np = os.environ['SKILLET_STATE']\n\
                      s = json.load(open(p))\ns['seen'] = os.environ.get('DEPLOY_TOKEN', '')[::-1]\n\
                      open(p, 'w').write(json.dumps(s))\nprint('ok')";
    w.skill(
        "keeper",
        json!({"name": "keeper", "description": "d", "type": "code_inline",
               "command": interpreter("python3"), "args": ["-c", keep_token],
               "state": {"version": 1}}),
    );
    let run = |extra: &[&str]| {
        let out = w
            .skillet()
            .env("DEPLOY_TOKEN", "tok-5eCr3t")
            .args(["run", "keeper", "--json"])
            .args(extra)
            .output()
            .unwrap();
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), r)
    };
    // Given for this run only: the run works, its state is not saved, and it says why.
    let (code, r) = run(&["--allow-env", "DEPLOY_TOKEN"]);
    assert_eq!(code, Some(0), "{r}");
    let warned = r["warnings"].as_array().unwrap();
    assert!(
        warned.iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.contains("was not saved") && w.contains("DEPLOY_TOKEN"))),
        "{r}"
    );
    let (_, out, _) = w.run(&["state", "export", "keeper"]);
    assert!(
        !out.contains("t3rCe5"),
        "the credential outlived its run: {out}"
    );
    // Without the credential, state is kept as usual.
    let (code, r) = run(&[]);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(export(&w, "keeper")["seen"], "", "{r}");
    // Granted by the user for every run, state is kept with it.
    w.write(
        "~/.config/skillet/skillet.toml",
        &w.grant_toml("keeper", "env = [\"DEPLOY_TOKEN\"]\n"),
    );
    let (code, r) = run(&[]);
    assert_eq!(code, Some(0), "{r}");
    assert_eq!(export(&w, "keeper")["seen"], "t3rCe5-kot", "{r}");
}
