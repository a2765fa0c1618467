use super::*;

/// The quick parse and the long way agree on every value, and what the quick parse refuses
/// is still parsed (or refused with a position) the long way.
#[test]
fn the_quick_parse_gives_the_value_the_long_way_gives() {
    let texts = [
        r#"{"name": "a", "n": [1, -1, 0, -0, 1.5, 1e2, 1E-2, 18446744073709551615]}"#,
        r#"{"big": 18446744073709551616, "small": -9223372036854775809}"#,
        r#"{"esc": "\u0061\ud83d\ude00\/\n\t\"", "\u00e9": "é", "": ""}"#,
        r#"{"nested": {"a": [{"b": [[], {}]}], "z": null, "t": true, "f": false}}"#,
        r#"{"b": 1, "a": 2, "c": {"y": 1, "x": 2}}"#,
        "[]",
        "\"just a string\"",
        "  \n\t{ \"spaced\" : 1 }\n ",
    ];
    for text in texts {
        let quick = JsonDocument::parse(text).unwrap();
        let (long, _) = parse_with_positions(text).unwrap();
        assert_eq!(quick.value, long, "{text}");
        assert_eq!(
            quick
                .value
                .as_object()
                .map(|m| m.keys().collect::<Vec<_>>()),
            long.as_object().map(|m| m.keys().collect::<Vec<_>>()),
            "key order of {text}"
        );
    }
}

#[test]
fn a_number_past_a_double_is_refused_at_its_place() {
    let e = JsonDocument::parse("{\"ok\": 1,\n \"over\": -1e400}").unwrap_err();
    assert!(e.message.contains("-1e400 is past the range"), "{e:?}");
    assert_eq!(
        e.position.map(|p| (p.line, p.column)),
        Some((2, 10)),
        "{e:?}"
    );
}

#[test]
fn a_key_given_twice_is_refused_at_its_second_place_in_any_spelling() {
    for text in [
        "{\"a\": 1,\n \"a\": 2}",
        "{\"a\": 1,\n \"\\u0061\": 2}",
        "{\"x\": {\"a\": 1,\n \"a\": [2]}}",
    ] {
        let e = JsonDocument::parse(text).unwrap_err();
        assert!(e.message.contains("duplicate field"), "{text}: {e:?}");
        assert_eq!(e.position.map(|p| p.line), Some(2), "{text}");
    }
}

#[test]
fn positions_are_found_after_a_quick_parse() {
    let doc =
        JsonDocument::parse("{\n  \"name\": \"x\",\n  \"params\": [1, {\"k\": 2}]\n}").unwrap();
    assert!(
        doc.spans.get().is_none(),
        "no positions made before one is asked for"
    );
    let at = doc.key_position("/params/1/k");
    assert_eq!((at.line, at.column), (3, 18));
    assert_eq!(doc.value_position("/name").line, 2);
}

#[test]
fn positions_point_at_keys_and_values() {
    let doc =
        JsonDocument::parse("{\n  \"name\": \"x\",\n  \"parameters\": [{\"name\": 1}]\n}").unwrap();
    assert_eq!(doc.key_position("/name"), Position { line: 2, column: 3 });
    assert_eq!(
        doc.value_position("/name"),
        Position {
            line: 2,
            column: 11
        }
    );
    assert_eq!(
        doc.value_position("/parameters/0/name"),
        Position {
            line: 3,
            column: 27
        }
    );
    // A missing path falls back to its nearest ancestor.
    assert_eq!(
        doc.value_position("/parameters/0/nope"),
        Position {
            line: 3,
            column: 18
        }
    );
}

#[test]
fn syntax_errors_have_positions() {
    // The trailing comma itself is reported.
    let err = JsonDocument::parse("{\n  \"a\": 1,\n}").unwrap_err();
    assert_eq!(err.position.unwrap().line, 2);
    let err = JsonDocument::parse("{ // hi\n}").unwrap_err();
    assert!(err.message.contains("omment"), "{}", err.message);
}

#[test]
fn duplicate_keys_are_errors() {
    let err = JsonDocument::parse("{\"a\": 1,\n \"a\": 2}").unwrap_err();
    assert_eq!(err.message, "duplicate field `a`");
    assert_eq!(err.position.unwrap().line, 2);
}

#[test]
fn deep_nesting_and_huge_files_are_refused_quickly() {
    let deep = "[".repeat(100_000);
    let err = JsonDocument::parse(&deep).unwrap_err();
    assert_eq!(
        err.message,
        "arrays and objects are nested 100000 levels deep; the limit is 64"
    );
    let huge = format!("{{\"a\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
    let err = JsonDocument::parse(&huge).unwrap_err();
    assert!(
        err.message
            .contains("the limit for a skill file is 1048576 bytes")
    );
}

#[test]
fn brackets_inside_strings_do_not_count_as_nesting() {
    let text = format!("{{\"a\": \"{}\"}}", "[".repeat(1000));
    assert!(JsonDocument::parse(&text).is_ok());
}

#[test]
fn display_path_reads_naturally() {
    assert_eq!(display_path("/parameters/0/type"), "parameters[0].type");
    assert_eq!(display_path("/env/A~1B"), "env.A/B");
    assert_eq!(display_path(""), "");
}
