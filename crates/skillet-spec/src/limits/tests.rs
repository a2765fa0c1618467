use super::*;
use serde_json::json;

#[test]
fn every_field_limit_names_a_field_of_the_schema() {
    let schema = crate::schema::cached();
    for (pattern, limit) in FIELD_LIMITS {
        let pointer = schema_pointer(schema, pattern)
            .unwrap_or_else(|| panic!("{pattern} is not in the schema"));
        let node = schema.pointer(&pointer).expect("resolved");
        assert_eq!(node["maxLength"], json!(limit), "{pattern}");
    }
    assert_eq!(
        schema["properties"]["command"]["maxLength"],
        json!(MAX_STRING_CHARS)
    );
}

#[test]
fn patterns_match_indexes_only_where_written() {
    assert_eq!(string_limit("/aliases/3"), MAX_NAME_CHARS);
    assert_eq!(
        string_limit("/parameters/0/description"),
        MAX_DESCRIPTION_CHARS
    );
    assert_eq!(string_limit("/parameters/x/description"), MAX_STRING_CHARS);
    assert_eq!(string_limit("/metadata/description"), MAX_STRING_CHARS);
    assert_eq!(string_limit("/prompt_template"), MAX_TEMPLATE_CHARS);
}

#[test]
fn lengths_count_characters_not_bytes() {
    let at_limit = json!({"description": "é".repeat(MAX_DESCRIPTION_CHARS)});
    assert!(check_lengths(&at_limit).is_empty());
    let over = json!({"description": "é".repeat(MAX_DESCRIPTION_CHARS + 1)});
    let found = check_lengths(&over);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].diagnostic.message,
        "`description` is 4097 characters long; the limit is 4096"
    );
}

#[test]
fn lists_and_maps_are_held_to_the_item_limit() {
    let at = json!({"args": vec!["a"; MAX_ITEMS], "env": (0..MAX_ITEMS)
        .map(|i| (format!("E{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()});
    assert!(check_lengths(&at).is_empty());
    let over = json!({"args": vec!["a"; MAX_ITEMS + 1]});
    assert_eq!(
        check_lengths(&over)[0].diagnostic.message,
        "`args` has 1001 entries; the limit is 1000"
    );
    let schema = crate::schema::cached();
    assert_eq!(schema["properties"]["args"]["maxItems"], json!(MAX_ITEMS));
    assert_eq!(
        schema["properties"]["env"]["maxProperties"],
        json!(MAX_ITEMS)
    );
    assert_eq!(
        schema.get("maxProperties"),
        None,
        "the skill object has named fields"
    );
}

#[test]
fn many_findings_are_counted_not_listed() {
    let args: Vec<String> = (0..30).map(|_| "x".repeat(MAX_STRING_CHARS + 1)).collect();
    let found = check_lengths(&json!({ "args": args }));
    assert_eq!(found.len(), MAX_LENGTH_FINDINGS + 1);
    assert!(
        found[MAX_LENGTH_FINDINGS]
            .diagnostic
            .message
            .starts_with("10 more")
    );
}
