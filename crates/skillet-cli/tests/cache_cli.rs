//! The result cache, end to end: hits replay a stored run without starting a process; every
//! input the result depends on (the skill, its scripts, keyed files, path parameters, stdin,
//! key_env, the grants) makes a new key; failures are not kept; the size bound evicts the least
//! recently used results.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::time::{Duration, SystemTime};

use common::World;
use serde_json::{Value, json};

/// A skill whose output differs on every real run (the clock in nanoseconds), so a repeated
/// output can only come from the cache.
fn stamped(w: &World, name: &str, script: &str, cache: Value) {
    w.skill(
        name,
        json!({"name": name, "description": "d", "type": "code_inline", "command": "sh",
            "args": ["-c", format!("{script}; date +%s%N")],
            "parameters": [{"name": "word", "type": "string", "default": "a"},
                           {"name": "file", "type": "path"}],
            "cache": cache}),
    );
}

fn run(w: &World, args: &[&str]) -> Value {
    let (code, v) = w.run_json(args);
    assert_eq!(code, 0, "{v}");
    v
}

fn cached(v: &Value) -> bool {
    v["cached"] == json!(true)
}

#[test]
fn a_repeat_is_answered_without_a_process_and_marked_cached() {
    let w = World::new();
    stamped(&w, "t", "echo hi >&2", json!({"ttl": 60}));
    let first = run(&w, &["t"]);
    assert!(!cached(&first), "{first}");
    let second = run(&w, &["t"]);
    assert!(cached(&second), "{second}");
    assert_eq!(second["stdout"], first["stdout"]);
    assert_eq!(second["stderr"], "hi\n");
    assert_eq!(second["exit_code"], 0);
    assert!(second["cpu_time_ms"].is_null(), "no process ran: {second}");
    assert_ne!(second["execution_id"], first["execution_id"]);
    // Another value is another call.
    let other = run(&w, &["t", "-p", "word=b"]);
    assert!(!cached(&other));
    assert_ne!(other["stdout"], first["stdout"]);

    let (code, out, _) = w.run(&["history", "--json"]);
    assert_eq!(code, 0);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let flags: Vec<bool> = rows.iter().map(|r| r["cached"] == json!(true)).collect();
    assert_eq!(flags, [false, true, false], "newest first");
    let (_, table, _) = w.run(&["history"]);
    assert!(table.contains("CACHED"), "{table}");

    let (_, stats, _) = w.run(&["cache", "stats", "--json"]);
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(
        (stats["hits"].as_i64(), stats["misses"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(stats["entries"], 2);
    assert_eq!(stats["skills"][0]["skill"], "t");
    // Plain output replays the stored streams too.
    let (code, out, err) = w.run(&["run", "t"]);
    assert_eq!((code, out.as_str()), (0, first["stdout"].as_str().unwrap()));
    assert!(err.contains("hi"), "{err}");
}

#[test]
fn editing_the_skill_or_a_script_it_ships_is_a_new_key() {
    let w = World::new();
    stamped(&w, "t", "true", json!({}));
    let first = run(&w, &["t"]);
    assert!(cached(&run(&w, &["t"])));
    stamped(&w, "t", "true ", json!({}));
    let edited = run(&w, &["t"]);
    assert!(!cached(&edited), "the skill file changed");
    assert_ne!(edited["stdout"], first["stdout"]);

    // A package folder: its script is part of the key.
    w.write(
        ".skillet/skills/pkg/skill.json",
        &json!({"name": "pkg", "description": "d", "type": "code_inline", "command": "sh",
            "args": ["{skill_dir}/run.sh"], "cache": {}})
        .to_string(),
    );
    w.write(".skillet/skills/pkg/run.sh", "echo one; date +%s%N\n");
    w.write(".skillet/skills/pkg/data.txt", "1");
    let a = run(&w, &["pkg"]);
    assert!(cached(&run(&w, &["pkg"])));
    w.write(".skillet/skills/pkg/run.sh", "echo two; date +%s%N\n");
    let b = run(&w, &["pkg"]);
    assert!(!cached(&b), "the script changed: {b}");
    assert!(b["stdout"].as_str().unwrap().starts_with("two"));
    // A file it ships but does not name: still its content.
    w.write(".skillet/skills/pkg/data.txt", "2");
    assert!(!cached(&run(&w, &["pkg"])));
    assert_ne!(a["stdout"], b["stdout"]);
}

/// Sets a file's modification time.
fn set_mtime(path: &std::path::Path, when: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

#[test]
fn keyed_files_invalidate_even_when_size_and_mtime_are_kept() {
    let w = World::new();
    stamped(
        &w,
        "t",
        "cat src/a.txt",
        json!({"key_files": ["src/**/*.txt"]}),
    );
    let file = w.write("src/a.txt", "one\n");
    let old = SystemTime::now() - Duration::from_secs(3600);
    set_mtime(&file, old);
    // Settled: the digest index trusts the stamp now, and must still see the edit below.
    std::thread::sleep(Duration::from_millis(2100));
    let first = run(&w, &["t"]);
    assert!(first["stdout"].as_str().unwrap().starts_with("one"));
    assert!(cached(&run(&w, &["t"])));

    // Same size, same modification time, other content.
    std::fs::write(&file, "two\n").unwrap();
    set_mtime(&file, old);
    let after = run(&w, &["t"]);
    assert!(
        !cached(&after),
        "a same-size edit with the old mtime: {after}"
    );
    assert!(after["stdout"].as_str().unwrap().starts_with("two"));
    assert!(cached(&run(&w, &["t"])));

    // A new matching file is a new key too; a file outside the globs is not.
    w.write("src/deep/b.txt", "b");
    assert!(!cached(&run(&w, &["t"])));
    assert!(cached(&run(&w, &["t"])));
    w.write("other.md", "x");
    assert!(cached(&run(&w, &["t"])));
    // Replaced by another file (another inode), same everything else.
    let tmp = w.write("src/a.tmp", "two\n");
    std::fs::rename(&tmp, &file).unwrap();
    set_mtime(&file, old);
    let replaced = run(&w, &["t"]);
    assert!(cached(&replaced), "same content, same key: {replaced}");
}

#[test]
fn path_parameters_stdin_and_key_env_are_part_of_the_key() {
    let w = World::new();
    stamped(
        &w,
        "t",
        "cat \"$SKILL_PARAM_FILE\"; cat",
        json!({"key_env": ["MODE"]}),
    );
    let file = w.write("in.txt", "alpha\n");
    let first = run(&w, &["t", "-p", "file=in.txt"]);
    assert!(cached(&run(&w, &["t", "-p", "file=in.txt"])));
    std::fs::write(&file, "gamma\n").unwrap();
    let edited = run(&w, &["t", "-p", "file=in.txt"]);
    assert!(!cached(&edited), "the named file changed");
    assert!(edited["stdout"].as_str().unwrap().starts_with("gamma"));
    assert_ne!(edited["stdout"], first["stdout"]);

    // Stdin: piped bytes are read in, keyed, and still reach the process.
    let piped = |text: &str| {
        let out = w
            .skillet()
            .args(["run", "t", "-p", "file=in.txt", "--json"])
            .write_stdin(text)
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let x = piped("from stdin\n");
    assert!(!cached(&x));
    assert!(x["stdout"].as_str().unwrap().contains("from stdin"), "{x}");
    assert!(cached(&piped("from stdin\n")));
    assert!(!cached(&piped("other stdin\n")));
    // --stdin TEXT likewise.
    let y = run(&w, &["t", "-p", "file=in.txt", "--stdin", "typed"]);
    assert!(!cached(&y));
    assert!(cached(&run(
        &w,
        &["t", "-p", "file=in.txt", "--stdin", "typed"]
    )));

    // key_env: the value in the caller's environment.
    let with_env = |mode: &str| {
        let out = w
            .skillet()
            .env("MODE", mode)
            .args(["run", "t", "-p", "file=in.txt", "--json"])
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert!(!cached(&with_env("fast")));
    assert!(cached(&with_env("fast")));
    assert!(!cached(&with_env("slow")));
}

#[test]
fn refresh_runs_and_replaces_no_cache_neither_reads_nor_writes() {
    let w = World::new();
    stamped(&w, "t", "true", json!({}));
    let first = run(&w, &["t"]);
    let fresh = run(&w, &["t", "--refresh"]);
    assert!(!cached(&fresh));
    assert_ne!(fresh["stdout"], first["stdout"]);
    let after = run(&w, &["t"]);
    assert!(cached(&after));
    assert_eq!(
        after["stdout"], fresh["stdout"],
        "--refresh stored its result"
    );

    let bypass = run(&w, &["t", "--no-cache"]);
    assert!(!cached(&bypass));
    assert_ne!(bypass["stdout"], fresh["stdout"]);
    let still = run(&w, &["t"]);
    assert_eq!(
        still["stdout"], fresh["stdout"],
        "--no-cache stored nothing"
    );
    let (code, _, err) = w.run(&["run", "t", "--no-cache", "--refresh"]);
    assert_ne!(code, 0, "the two flags conflict: {err}");
}

#[test]
fn failures_are_not_cached() {
    let w = World::new();
    w.skill(
        "bad",
        json!({"name": "bad", "description": "d", "type": "code_inline", "command": "sh",
            "args": ["-c", "date +%s%N; exit 3"], "cache": {}}),
    );
    let (code, a) = w.run_json(&["bad"]);
    assert_ne!(code, 0);
    let (_, b) = w.run_json(&["bad"]);
    assert!(!cached(&b));
    assert_ne!(a["stdout"], b["stdout"]);
    let (_, ls, _) = w.run(&["cache", "ls", "--json"]);
    assert_eq!(serde_json::from_str::<Value>(&ls).unwrap(), json!([]));
}

#[test]
fn a_result_made_under_other_grants_does_not_answer() {
    let w = World::new();
    stamped(&w, "t", "true", json!({}));
    let plain = run(&w, &["t"]);
    let net = run(&w, &["t", "--allow-net"]);
    assert!(!cached(&net), "made without network, asked with: {net}");
    assert!(cached(&run(&w, &["t", "--allow-net"])));
    let plain_again = run(&w, &["t"]);
    assert!(cached(&plain_again));
    assert_eq!(
        plain_again["stdout"], plain["stdout"],
        "not the networked result"
    );
    // A read grant, and a grant in the global skillet.toml, change the key the same way.
    std::fs::create_dir_all(w.path("data")).unwrap();
    assert!(!cached(&run(&w, &["t", "--allow-read", "data"])));
    // A skill that asks for the network gets it only once the user grants it.
    w.skill(
        "n",
        json!({"name": "n", "description": "d", "type": "code_inline", "command": "sh",
            "args": ["-c", "date +%s%N"], "cache": {},
            "security": {"permissions": {"network_access": true}}}),
    );
    let asked = run(&w, &["n"]);
    assert!(cached(&run(&w, &["n"])));
    w.write(
        "~/.config/skillet/skillet.toml",
        &w.grant_toml("n", "network = true\n"),
    );
    let granted = run(&w, &["n"]);
    assert!(!cached(&granted), "configured grant: {granted}");
    assert_ne!(granted["stdout"], asked["stdout"]);
    assert!(cached(&run(&w, &["n"])));
}

#[test]
fn the_size_bound_evicts_the_least_recently_used() {
    let w = World::new();
    // Each result is about 400 KiB; a 1 MiB cache holds two.
    w.skill(
        "big",
        json!({"name": "big", "description": "d", "type": "code_inline", "command": "sh",
            "args": ["-c", "date +%s%N; head -c 409600 /dev/zero | tr '\\0' x"],
            "parameters": [{"name": "n", "type": "integer"}],
            "security": {"resource_limits": {"max_output_kb": 1024}},
            "cache": {}}),
    );
    w.write("~/.config/skillet/skillet.toml", "[cache]\nmax_mb = 1\n");
    // A workspace file cannot raise it.
    w.write(".skillet/skillet.toml", "[cache]\nmax_mb = 1000\n");
    let one = run(&w, &["big", "-p", "n=1"]);
    run(&w, &["big", "-p", "n=2"]);
    assert!(
        cached(&run(&w, &["big", "-p", "n=1"])),
        "1 is now the most recent"
    );
    run(&w, &["big", "-p", "n=3"]);
    let (_, stats, _) = w.run(&["cache", "stats", "--json"]);
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["entries"], 2, "{stats}");
    assert!(stats["bytes"].as_i64().unwrap() <= 1 << 20);
    assert_eq!(stats["max_bytes"], 1 << 20);
    assert!(cached(&run(&w, &["big", "-p", "n=1"])));
    assert!(!cached(&run(&w, &["big", "-p", "n=2"])), "2 was evicted");
    let again = run(&w, &["big", "-p", "n=1"]);
    assert_eq!(again["stdout"], one["stdout"]);
}

#[test]
fn ttl_expires_and_clear_empties() {
    let w = World::new();
    stamped(&w, "t", "true", json!({"ttl": 1}));
    stamped(&w, "u", "true", json!({}));
    run(&w, &["t"]);
    run(&w, &["u"]);
    assert!(cached(&run(&w, &["t"])));
    std::thread::sleep(Duration::from_millis(1100));
    assert!(!cached(&run(&w, &["t"])), "past its ttl");
    let (code, out, _) = w.run(&["cache", "clear", "t"]);
    assert_eq!(code, 0);
    assert!(out.contains("Removed 1 cached result of `t`"), "{out}");
    assert!(!cached(&run(&w, &["t"])));
    assert!(cached(&run(&w, &["u"])), "only t's went");
    let (_, out, _) = w.run(&["cache", "ls"]);
    assert!(out.contains('u'), "{out}");
    let (_, out, _) = w.run(&["cache", "clear"]);
    assert!(out.contains("Removed 2 cached results"), "{out}");
    let (_, out, _) = w.run(&["cache", "ls", "--json"]);
    assert_eq!(out.trim(), "[]");
}

#[test]
fn bad_cache_blocks_are_refused_at_validation() {
    let w = World::new();
    for (name, kind, cache, expect) in [
        (
            "g1",
            "code_inline",
            json!({"key_files": ["../secrets/*"]}),
            "outside the workspace",
        ),
        (
            "g2",
            "code_inline",
            json!({"key_files": ["/etc/*"]}),
            "outside the workspace",
        ),
        (
            "g3",
            "code_inline",
            json!({"key_files": ["src/[a"]}),
            "not a valid glob",
        ),
        (
            "g4",
            "code_inline",
            json!({"key_env": ["NOT-A-NAME"]}),
            "not an environment variable name",
        ),
        ("g5", "code_inline", json!({"ttl": 0}), "`ttl` is 0"),
        ("g6", "code_inline", json!({"size": 1}), "size"),
    ] {
        w.skill(name, json!({"name": name, "description": "d", "type": kind, "command": "true", "cache": cache}));
        let (code, out, err) = w.run(&["validate", &format!(".skillet/skills/{name}.json")]);
        assert_ne!(code, 0, "{name}: {out}{err}");
        assert!(format!("{out}{err}").contains(expect), "{name}: {out}{err}");
    }
    w.skill(
        "conv",
        json!({"name": "conv", "description": "d", "type": "conversation",
        "prompt_template": "hi", "cache": {}}),
    );
    // A conversation that takes follow-ups is cached answer by answer.
    let (code, out, err) = w.run(&["validate", ".skillet/skills/conv.json"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_result_that_prints_a_credential_given_to_the_run_is_not_kept() {
    let w = World::new();
    let token = "ghp_c4ch3d-s3cr3t-value";
    for (name, script) in [
        (
            "encodes",
            "printf '%s' \"$GITHUB_TOKEN\" | base64; printf '%s' \"$GITHUB_TOKEN\" | od -An -tx1 | tr -d ' \\n'; echo".to_owned(),
        ),
        ("echoes", "echo \"gh=$GITHUB_TOKEN\"".to_owned()),
        ("stderr", "echo \"auth $GITHUB_TOKEN\" >&2".to_owned()),
        (
            "quiet",
            "test -n \"$GITHUB_TOKEN\" && echo has-a-token".to_owned(),
        ),
    ] {
        w.skill(
            name,
            json!({"name": name, "description": "d", "type": "code_inline", "command": "sh",
                "args": ["-c", script], "cache": {},
                "security": {"permissions": {"env_passthrough": ["GITHUB_TOKEN"]}}}),
        );
    }
    let run_with_token = |name: &str| -> Value {
        let out = w
            .skillet()
            .env("GITHUB_TOKEN", token)
            .args(["run", name, "--allow-env", "GITHUB_TOKEN", "--json"])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    for name in ["echoes", "stderr"] {
        let first = run_with_token(name);
        assert_eq!(first["status"], "ok", "{first}");
        assert!(
            first["warnings"]
                .to_string()
                .contains("not cached: the output holds the value of GITHUB_TOKEN"),
            "{first}"
        );
        assert!(
            !cached(&run_with_token(name)),
            "{name} was answered from the cache"
        );
    }
    // A run given the credential that does not print it is cached as any other.
    assert!(!cached(&run_with_token("quiet")));
    assert!(cached(&run_with_token("quiet")));
    // Printed encoded, the credential is not kept in the log tails either.
    let encoded = run_with_token("encodes");
    assert_eq!(encoded["status"], "ok", "{encoded}");
    let (_, logs, _) = w.run(&["logs", "--skill", "encodes", "--json"]);
    assert!(logs.contains("[redacted]"), "{logs}");
    let data = w.home.join(".local/share/skillet");
    for entry in std::fs::read_dir(&data).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(token)
                && !text.contains("Z2hwX2M0Y2gzZC1z")
                && !text.contains("6768705f633463"),
            "the credential is stored in {:?}",
            entry.path()
        );
    }
}
