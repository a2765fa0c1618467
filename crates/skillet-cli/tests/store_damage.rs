//! A history store that is empty or not a database is named, never silently recreated or read
//! as empty; `skillet doctor --repair` moves it aside and starts a fresh one.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::path::PathBuf;

use common::World;
use serde_json::{Value, json};

fn store_path(w: &World) -> PathBuf {
    w.home.join(".local/share/skillet/skillet.db")
}

/// The damaged files tried: (what, contents, what SQLite or skillet says about it).
fn damages() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        ("empty", Vec::new(), "the file is empty (0 bytes)"),
        ("garbage", vec![0x5a; 16384], "file is not a database"),
        (
            "text",
            b"SQLite format 2 but not really\n".repeat(200),
            "file is not a database",
        ),
    ]
}

fn damaged_world(bytes: &[u8]) -> World {
    let w = World::new();
    w.skill(
        "hello",
        json!({"name": "hello", "description": "d", "type": "code_inline", "command": "echo", "args": ["hi"]}),
    );
    let path = store_path(&w);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    w
}

fn assert_names_it(w: &World, text: &str, problem: &str) {
    let path = store_path(w).display().to_string();
    assert!(text.contains(&path), "the file is not named: {text}");
    assert!(text.contains(problem), "SQLite's words are missing: {text}");
    assert!(
        text.contains("skillet doctor --repair"),
        "no fix given: {text}"
    );
}

#[test]
fn history_and_session_list_name_the_file_the_error_and_the_fix() {
    for (what, bytes, problem) in damages() {
        let w = damaged_world(&bytes);
        for args in [
            &["history"][..],
            &["history", "--json"],
            &["session", "list"],
            &["session", "list", "--json"],
        ] {
            let (code, out, err) = w.run(args);
            assert_ne!(code, 0, "{what} {args:?} succeeded: {out}");
            assert!(
                !out.contains("No executions"),
                "{what} {args:?}: read as empty"
            );
            assert!(
                !out.contains("no sessions"),
                "{what} {args:?}: read as empty"
            );
            // With --json the error is the JSON object on stdout.
            let said = if args.contains(&"--json") {
                let value: serde_json::Value = serde_json::from_str(&out).unwrap();
                value["error"]["message"].as_str().unwrap().to_owned()
            } else {
                err
            };
            assert_names_it(&w, &said, problem);
        }
        assert_eq!(
            std::fs::read(store_path(&w)).unwrap(),
            bytes,
            "{what}: the file was changed"
        );
    }
}

#[test]
fn doctor_reports_the_damage_and_repair_moves_it_aside() {
    for (what, bytes, problem) in damages() {
        let w = damaged_world(&bytes);
        let (code, out, _) = w.run(&["doctor"]);
        assert_eq!(code, 1, "{what}: {out}");
        assert_names_it(&w, &out, problem);
        let (code, out, _) = w.run(&["doctor", "--json"]);
        assert_eq!(code, 1, "{what}: {out}");
        let rows: Value = serde_json::from_str(&out).unwrap();
        let row = rows.as_array().unwrap().last().unwrap();
        assert_eq!(
            (row["layer"].as_str(), row["state"].as_str()),
            (Some("store"), Some("unavailable")),
            "{row}"
        );
        assert_eq!(row["corrupt"], true, "{row}");
        assert_names_it(&w, row["detail"].as_str().unwrap(), problem);
        assert_eq!(
            std::fs::read(store_path(&w)).unwrap(),
            bytes,
            "{what}: doctor changed it"
        );

        let (code, out, err) = w.run(&["doctor", "--repair"]);
        assert_eq!(code, 0, "{what}: {out}{err}");
        let dir = store_path(&w).parent().unwrap().to_path_buf();
        let moved: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("skillet.db.corrupt-")
            })
            .collect();
        assert_eq!(moved.len(), 1, "{what}: {moved:?}");
        assert_eq!(
            std::fs::read(&moved[0]).unwrap(),
            bytes,
            "{what}: the bad file was not kept"
        );
        assert!(
            out.contains(&moved[0].display().to_string()),
            "{what}: {out}"
        );
        assert!(out.contains("created a fresh"), "{what}: {out}");

        // The fresh store works: a run is recorded and listed.
        assert_eq!(w.run(&["run", "hello"]).0, 0);
        let (code, out, err) = w.run(&["history", "--json"]);
        assert_eq!(code, 0, "{err}");
        let rows: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
        let (code, out, _) = w.run(&["doctor", "--json"]);
        assert_eq!(code, 0, "{out}");
        let rows: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(rows.as_array().unwrap().last().unwrap()["state"], "active");
    }
}

#[test]
fn doctor_repair_json_says_where_the_file_went() {
    let w = damaged_world(&[0x00, 0x01, 0x02].repeat(5000));
    let (code, out, err) = w.run(&["doctor", "--repair", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Value = serde_json::from_str(&out).unwrap();
    let row = rows.as_array().unwrap().last().unwrap();
    assert_eq!(
        (&row["state"], &row["repaired"]),
        (&json!("active"), &json!(true)),
        "{row}"
    );
    assert_eq!(row["path"], json!(store_path(&w)));
    let moved = PathBuf::from(row["moved_to"].as_str().unwrap());
    assert!(moved.exists(), "{row}");
    assert!(
        row["error"]
            .as_str()
            .unwrap()
            .contains("file is not a database"),
        "{row}"
    );
    // Repair on a sound store changes nothing.
    let (code, out, _) = w.run(&["doctor", "--repair", "--json"]);
    assert_eq!(code, 0);
    let rows: Value = serde_json::from_str(&out).unwrap();
    let row = rows.as_array().unwrap().last().unwrap();
    assert_eq!(
        (&row["state"], &row["repaired"]),
        (&json!("active"), &Value::Null),
        "{row}"
    );
}

#[test]
fn a_run_on_a_damaged_store_says_it_was_not_recorded_and_why() {
    let w = damaged_world(b"");
    let (code, out, err) = w.run(&["run", "hello"]);
    assert_eq!((code, out.as_str()), (0, "hi\n"), "{err}");
    assert!(err.contains("not recorded"), "{err}");
    assert_names_it(&w, &err, "0 bytes");
    assert_eq!(std::fs::metadata(store_path(&w)).unwrap().len(), 0);
}

#[test]
fn a_data_directory_on_a_read_only_file_system_is_named_with_what_to_do() {
    let w = World::new();
    let data = w.tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let skillet = assert_cmd::cargo::cargo_bin("skillet");
    // In a mount namespace of its own (a user namespace makes that possible without root):
    // the store is made on a tmpfs, which is then made read-only with no log beside it.
    let script = format!(
        "mount -t tmpfs tmpfs {d} || exit 99; {s} history >/dev/null || exit 98; \
         rm -f {d}/skillet/skillet.db-wal {d}/skillet/skillet.db-shm; \
         mount -o remount,ro {d} || exit 99; {s} history",
        d = data.display(),
        s = skillet.display()
    );
    let out = w
        .command(std::path::Path::new("unshare"))
        .args(["-rm", "sh", "-c", &script])
        .env("XDG_DATA_HOME", &data)
        .output()
        .unwrap();
    if matches!(out.status.code(), Some(99) | None)
        || out.status.code() == Some(1) && out.stderr.starts_with(b"unshare")
    {
        eprintln!(
            "skipped: no mount namespace here: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "{}/skillet is on a read-only file system",
            data.display()
        )) && err.contains("XDG_DATA_HOME"),
        "{err}"
    );
}
