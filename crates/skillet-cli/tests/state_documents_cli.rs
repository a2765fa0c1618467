//! What `skillet state set` and `state import` do with the JSON they are given and the
//! documents they change: numbers are kept digit for digit (an integer beyond 64 bits never
//! turns into a float, neither the one given nor one a run wrote), a key given twice is
//! refused, and a document that is not an object is refused, each with a clear error and
//! nothing changed.

#![allow(clippy::unwrap_used)]

mod common;

use common::{World, interpreter};
use serde_json::json;

const BIG: &str = "123456789012345678901234567890";

/// A Python skill (Python's integers have no bound) that prints `big + 1` and keeps 2**70
/// under `run`.
fn big_skill(w: &World) {
    w.skill(
        "big",
        json!({"name": "big", "description": "d", "type": "code_inline",
               "command": interpreter("python3"), "args": ["-c",
               "import json, os\np = os.environ['SKILLET_STATE']\ns = json.load(open(p))\n\
                print(s.get('big', 0) + 1)\ns['run'] = 2 ** 70\nopen(p, 'w').write(json.dumps(s))"],
               "state": {"version": 1}}),
    );
}

fn get(w: &World, key: &str) -> String {
    let (code, out, err) = w.run(&["state", "get", "big", key]);
    assert_eq!(code, 0, "{err}");
    out.trim().to_owned()
}

fn export(w: &World) -> String {
    let (code, out, err) = w.run(&["state", "export", "big"]);
    assert_eq!(code, 0, "{err}");
    out
}

fn import(w: &World, doc: &str) -> (bool, String) {
    let out = w
        .skillet()
        .args(["state", "import", "big"])
        .write_stdin(doc.to_owned())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn integers_beyond_64_bits_stay_exact_through_set_get_export_import_and_runs() {
    let w = World::new();
    big_skill(&w);
    assert_eq!(w.run(&["state", "set", "big", "big", BIG]).0, 0);
    assert_eq!(get(&w, "big"), BIG);
    // The run reads the exact integer, and writes another.
    let (code, r) = w.run_json(&["big"]);
    assert_eq!(
        (code, r["stdout"].as_str()),
        (0, Some("123456789012345678901234567891\n")),
        "{r}"
    );
    let run = (1u128 << 70).to_string();
    assert_eq!(get(&w, "run"), run);
    // Changing another key leaves both as they were.
    assert_eq!(w.run(&["state", "set", "big", "note", "hi"]).0, 0);
    assert_eq!(w.run(&["state", "rm", "big", "note"]).0, 0);
    assert_eq!(
        (get(&w, "big"), get(&w, "run")),
        (BIG.to_owned(), run.clone())
    );
    let saved = export(&w);
    assert!(saved.contains(BIG) && saved.contains(&run), "{saved}");
    assert!(!saved.contains("e+") && !saved.contains("e2"), "{saved}");

    // export | import round-trips exactly, nested numbers and precise decimals too.
    assert_eq!(w.run(&["state", "clear", "big"]).0, 0);
    let (ok, err) = import(&w, &saved);
    assert!(ok, "{err}");
    assert_eq!(export(&w), saved);
    let doc =
        format!(r#"{{"deep": {{"list": [{BIG}, -{BIG}]}}, "pi": 3.14159265358979323846264}}"#);
    let (ok, err) = import(&w, &doc);
    assert!(ok, "{err}");
    assert_eq!(
        get(&w, "deep"),
        format!("{{\n  \"list\": [\n    {BIG},\n    -{BIG}\n  ]\n}}")
    );
    assert_eq!(get(&w, "pi"), "3.14159265358979323846264");
    // A value that is not JSON is still kept as a string.
    assert_eq!(w.run(&["state", "set", "big", "s", "12 monkeys"]).0, 0);
    assert_eq!(get(&w, "s"), "\"12 monkeys\"");
}

#[test]
fn a_key_given_twice_is_refused_and_nothing_changes() {
    let w = World::new();
    big_skill(&w);
    assert_eq!(w.run(&["state", "set", "big", "keep", "1"]).0, 0);
    let before = export(&w);
    for value in [
        r#"{"a": 1, "a": 2}"#,
        r#"{"a": 1, "\u0061": 2}"#,
        r#"[{"x": {"k": true, "k": false}}]"#,
    ] {
        let (code, _, err) = w.run(&["state", "set", "big", "v", value]);
        assert_eq!(code, 1, "{value}: {err}");
        assert!(err.contains("given twice"), "{err}");
        assert!(err.contains("keep one of the two"), "{err}");
    }
    for doc in [
        r#"{"keep": 1, "keep": 2}"#,
        "{\n  \"a\": {\"b\": 1,\n        \"b\": 2}\n}",
        r#"{"a": "1", "\u0061": "2"}"#,
    ] {
        let (ok, err) = import(&w, doc);
        assert!(!ok, "{doc}");
        assert!(err.contains("given twice"), "{err}");
    }
    let (_, err) = import(&w, "{\n  \"a\": {\"b\": 1,\n        \"b\": 2}\n}");
    assert!(err.contains("line 3"), "{err}");
    assert_eq!(export(&w), before, "nothing was changed");
}

#[test]
fn a_document_that_is_not_an_object_is_refused_by_import() {
    let w = World::new();
    big_skill(&w);
    assert_eq!(w.run(&["state", "set", "big", "keep", "1"]).0, 0);
    let before = export(&w);
    for (doc, kind) in [
        ("[1, 2]", "an array"),
        ("3", "a number"),
        ("\"text\"", "a string"),
        ("null", "null"),
        ("true", "a boolean"),
    ] {
        let (ok, err) = import(&w, doc);
        assert!(!ok, "{doc}");
        assert!(
            err.contains(&format!("standard input is {kind}, not a JSON object")),
            "{err}"
        );
        assert!(err.contains("wrap it in an object"), "{err}");
    }
    let (ok, err) = import(&w, "{\"a\": ");
    assert!(!ok);
    assert!(err.contains("EOF while parsing"), "{err}");
    assert_eq!(export(&w), before, "nothing was changed");
}

/// What `set` and `import` store, the next run reads: the two check a document the same way,
/// so nothing the CLI accepts makes every later run fail, and nothing a run commits leaves the
/// CLI unable to edit it. Depth (past 128 levels, and past any stack), numbers past a double
/// and a key twice are refused on both sides, with nothing changed.
#[test]
fn the_cli_and_a_run_accept_the_same_documents() {
    let w = World::new();
    big_skill(&w);
    assert_eq!(w.run(&["state", "set", "big", "keep", "1"]).0, 0);
    let before = export(&w);
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    for value in [
        // 127 levels pass on their own, but make 128 under a key.
        nested(127),
        "1e400".to_owned(),
        "-1e309".to_owned(),
        // Past a double once correctly rounded, as Python and JavaScript read it.
        "1.79769313486231581e308".to_owned(),
        nested(5_000),
        nested(60_000), // 120 kB: one argument holds at most 128 KiB
    ] {
        let (code, _, err) = w.run(&["state", "set", "big", "v", "--", &value]);
        assert_eq!(code, 1, "{}: {err}", &value[..10.min(value.len())]);
        assert!(err.contains("not a state document"), "{err}");
        let (ok, err) = import(&w, &format!("{{\"v\": {value}}}"));
        assert!(!ok && err.contains("not a state document"), "{err}");
    }
    assert_eq!(export(&w), before, "nothing was changed");
    // The largest double itself is a number like any other.
    let (code, _, err) = w.run(&["state", "set", "big", "max", "1.7976931348623158e308"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(w.run(&["state", "rm", "big", "max"]).0, 0);
    // The next run reads what is stored and commits its own change.
    let (code, r) = w.run_json(&["big"]);
    assert_eq!((code, r["status"].as_str()), (0, Some("ok")), "{r}");
    assert_eq!(get(&w, "run"), "1180591620717411303424");

    // A run that leaves such a document commits nothing, and says why.
    for (name, doc, says) in [
        ("twice", r#"{"a": 1, "a": 2}"#.to_owned(), "given twice"),
        (
            "deep",
            format!("{{\"a\": {}}}", nested(300)),
            "recursion limit",
        ),
        ("huge", r#"{"a": 1e999}"#.to_owned(), "out of range"),
    ] {
        w.skill(
            name,
            json!({"name": name, "description": "d", "type": "code_inline",
                   "command": interpreter("python3"), "args": ["-c",
                   "import os, sys\nopen(os.environ['SKILLET_STATE'], 'w').write(sys.argv[1])", doc],
                   "state": {}}),
        );
        let (code, r) = w.run_json(&[name]);
        assert_ne!(code, 0, "{name}: {r}");
        let said = r.to_string();
        assert!(
            said.contains("state was not saved") && said.contains(says),
            "{name}: {said}"
        );
        let (code, out, err) = w.run(&["state", "export", name]);
        assert_eq!((code, out.trim()), (0, "{}"), "{name}: {err}");
    }
}
