//! Checking a tool call's arguments against the tool's `inputSchema`, exactly.
//!
//! The engine reads parameters the way a command line gives them, as text, so `"2"` would
//! pass for an integer there. An agent speaks JSON: a value must already have the type the
//! schema gives it (`"2"` is not an integer, `2.0` is; a number or a boolean is not a string;
//! `null` only where the schema allows it), every required argument must be there and no
//! other. Anything else is refused with -32602 before anything runs.
//!
//! Only the keywords skillet writes into its schemas ([`crate::input_schema`]) are read:
//! `type`, `properties`, `required`, `additionalProperties`, `enum`, `pattern`, `minimum`,
//! `maximum`, `minLength`, `maxLength` and `items`.

use rmcp::model::JsonObject;
use serde_json::{Number, Value};

/// Why a tool call's arguments were refused. Each names the argument and what it must be.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ArgumentError {
    /// Required arguments were left out.
    #[error("missing required argument{} {}", if .0.len() == 1 { "" } else { "s" }, quoted(.0))]
    Missing(Vec<String>),
    /// An argument the tool does not take.
    #[error("unknown argument `{name}`; this tool takes {}", if known.is_empty() { "no arguments".to_owned() } else { quoted(known) })]
    Unknown {
        /// The argument.
        name: String,
        /// The ones it takes.
        known: Vec<String>,
    },
    /// A value of another JSON type than the schema's.
    #[error(
        "argument `{name}` must be {expected}, not {found} ({value}); values are not converted"
    )]
    WrongType {
        /// The argument.
        name: String,
        /// The schema's types, `integer or null`.
        expected: String,
        /// The value's type.
        found: &'static str,
        /// The value, cut short.
        value: String,
    },
    /// A value outside the schema's `enum`.
    #[error("argument `{name}` must be one of {allowed}, not {value}")]
    NotAllowed {
        /// The argument.
        name: String,
        /// The allowed values.
        allowed: String,
        /// The value, cut short.
        value: String,
    },
    /// A string shorter than `minLength`.
    #[error("argument `{name}` must be at least {min} characters long")]
    TooShort {
        /// The argument.
        name: String,
        /// The least length.
        min: u64,
    },
    /// A string longer than `maxLength`.
    #[error("argument `{name}` must be at most {max} characters long")]
    TooLong {
        /// The argument.
        name: String,
        /// The greatest length.
        max: u64,
    },
    /// A string that does not match the schema's `pattern`.
    #[error("argument `{name}` does not match the pattern {pattern}")]
    NoMatch {
        /// The argument.
        name: String,
        /// The pattern.
        pattern: String,
    },
    /// A number below `minimum`.
    #[error("argument `{name}` must be at least {min}, not {value}")]
    BelowMinimum {
        /// The argument.
        name: String,
        /// The minimum.
        min: f64,
        /// The value.
        value: Number,
    },
    /// A number above `maximum`.
    #[error("argument `{name}` must be at most {max}, not {value}")]
    AboveMaximum {
        /// The argument.
        name: String,
        /// The maximum.
        max: f64,
        /// The value.
        value: Number,
    },
    /// A session tool's own argument (`session_id`, `input`) that is not a string.
    #[error("`{name}` must be a string, not {value}")]
    NotAString {
        /// The argument.
        name: String,
        /// The value, cut short.
        value: String,
    },
}

impl ArgumentError {
    /// `name`'s `value` is not a string.
    pub(crate) fn not_a_string(name: &str, value: &Value) -> ArgumentError {
        ArgumentError::NotAString {
            name: name.to_owned(),
            value: short(value),
        }
    }
}

/// Checks `arguments` against `schema`; on success the arguments as the engine should get
/// them (an integer written `2.0` becomes `2`).
pub(crate) fn check(
    schema: &JsonObject,
    mut arguments: JsonObject,
) -> Result<JsonObject, ArgumentError> {
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        let missing: Vec<String> = required
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| !arguments.contains_key(*name))
            .map(str::to_owned)
            .collect();
        if !missing.is_empty() {
            return Err(ArgumentError::Missing(missing));
        }
    }
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    for (name, value) in arguments.iter_mut() {
        match properties.and_then(|p| p.get(name)) {
            Some(property) => check_value(name, property, value)?,
            None if closed => {
                return Err(ArgumentError::Unknown {
                    name: name.clone(),
                    known: properties
                        .map(|p| p.keys().cloned().collect())
                        .unwrap_or_default(),
                });
            }
            None => {}
        }
    }
    Ok(arguments)
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JSON type of a value, in JSON Schema's words.
fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if whole(n).is_some() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The value of a number with no fractional part (JSON Schema's integer, `2.0` included).
fn whole(n: &Number) -> Option<Value> {
    if n.is_i64() || n.is_u64() {
        return Some(Value::Number(n.clone()));
    }
    let f = n.as_f64()?;
    // Beyond 2^53 a float is whole whatever was meant; i64's range bounds what runs.
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        Some(Value::from(f as i64))
    } else {
        None
    }
}

fn matches_type(kind: &str, value: &Value) -> bool {
    match (kind, value) {
        ("null", Value::Null)
        | ("boolean", Value::Bool(_))
        | ("number", Value::Number(_))
        | ("string", Value::String(_))
        | ("array", Value::Array(_))
        | ("object", Value::Object(_)) => true,
        ("integer", Value::Number(n)) => whole(n).is_some(),
        _ => false,
    }
}

fn check_value(name: &str, property: &Value, value: &mut Value) -> Result<(), ArgumentError> {
    let kinds: Vec<&str> = match property.get("type") {
        Some(Value::String(kind)) => vec![kind.as_str()],
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !kinds.is_empty() && !kinds.iter().any(|k| matches_type(k, value)) {
        return Err(ArgumentError::WrongType {
            name: name.to_owned(),
            expected: kinds.join(" or "),
            found: type_of(value),
            value: short(value),
        });
    }
    if kinds.contains(&"integer")
        && let Value::Number(n) = value
        && let Some(int) = whole(n)
    {
        *value = int;
    }
    if let Some(allowed) = property.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
        return Err(ArgumentError::NotAllowed {
            name: name.to_owned(),
            allowed: allowed.join(", "),
            value: short(value),
        });
    }
    match value {
        Value::String(s) => check_string(name, property, s),
        Value::Number(n) => check_number(name, property, n),
        Value::Array(items) => {
            if let Some(schema) = property.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    check_value(&format!("{name}[{i}]"), schema, item)?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_string(name: &str, property: &Value, s: &str) -> Result<(), ArgumentError> {
    let chars = s.chars().count() as u64;
    if let Some(min) = property.get("minLength").and_then(Value::as_u64)
        && chars < min
    {
        return Err(ArgumentError::TooShort {
            name: name.to_owned(),
            min,
        });
    }
    if let Some(max) = property.get("maxLength").and_then(Value::as_u64)
        && chars > max
    {
        return Err(ArgumentError::TooLong {
            name: name.to_owned(),
            max,
        });
    }
    if let Some(pattern) = property.get("pattern").and_then(Value::as_str) {
        // A pattern that does not compile was already reported when the skill was validated;
        // the engine checks the value against the skill's own pattern too.
        if let Ok(re) = regex::Regex::new(pattern)
            && !re.is_match(s)
        {
            return Err(ArgumentError::NoMatch {
                name: name.to_owned(),
                pattern: pattern.to_owned(),
            });
        }
    }
    Ok(())
}

fn check_number(name: &str, property: &Value, n: &Number) -> Result<(), ArgumentError> {
    let Some(v) = n.as_f64() else {
        return Ok(());
    };
    if let Some(min) = property.get("minimum").and_then(Value::as_f64)
        && v < min
    {
        return Err(ArgumentError::BelowMinimum {
            name: name.to_owned(),
            min,
            value: n.clone(),
        });
    }
    if let Some(max) = property.get("maximum").and_then(Value::as_f64)
        && v > max
    {
        return Err(ArgumentError::AboveMaximum {
            name: name.to_owned(),
            max,
            value: n.clone(),
        });
    }
    Ok(())
}

/// A value as it is quoted in an error, cut short.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> JsonObject {
        let parameters: Vec<skillet_spec::ParameterSpec> = serde_json::from_value(json!([
            {"name": "word", "type": "string", "required": true, "pattern": "[a-z]+"},
            {"name": "times", "type": "integer", "min": 1, "max": 3},
            {"name": "ratio", "type": "number"},
            {"name": "loud", "type": "boolean"},
            {"name": "mode", "type": "enum", "values": ["plain", "loud"]},
            {"name": "file", "type": "path"}
        ]))
        .unwrap();
        crate::input_schema(&parameters)
    }

    fn args(value: Value) -> JsonObject {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn values_of_the_declared_type_pass() {
        let checked = check(
            &schema(),
            args(json!({"word": "a", "times": 2.0, "ratio": 1, "loud": true, "mode": "loud", "file": "x"})),
        )
        .unwrap();
        assert_eq!(checked["times"], json!(2));
        assert!(checked["times"].is_i64(), "2.0 is passed on as 2");
        assert_eq!(checked["ratio"], json!(1));
    }

    #[test]
    fn values_are_never_converted() {
        for (bad, needle) in [
            (
                json!({"word": "a", "times": "2"}),
                "`times` must be integer, not string",
            ),
            (
                json!({"word": "a", "times": 2.5}),
                "`times` must be integer, not number",
            ),
            (
                json!({"word": "a", "times": true}),
                "`times` must be integer, not boolean",
            ),
            (
                json!({"word": "a", "ratio": "1.5"}),
                "`ratio` must be number, not string",
            ),
            (json!({"word": 5}), "`word` must be string, not integer"),
            (json!({"word": true}), "`word` must be string, not boolean"),
            (json!({"word": ["a"]}), "`word` must be string, not array"),
            (
                json!({"word": {"a": 1}}),
                "`word` must be string, not object",
            ),
            (json!({"word": null}), "`word` must be string, not null"),
            (
                json!({"word": "a", "loud": "true"}),
                "`loud` must be boolean, not string",
            ),
            (
                json!({"word": "a", "loud": 1}),
                "`loud` must be boolean, not integer",
            ),
            (
                json!({"word": "a", "file": null}),
                "`file` must be string, not null",
            ),
            (
                json!({"word": "a", "mode": "LOUD"}),
                "`mode` must be one of",
            ),
            (
                json!({"word": "a", "times": 4}),
                "`times` must be at most 3",
            ),
            (
                json!({"word": "a", "times": 0}),
                "`times` must be at least 1",
            ),
            (json!({"word": "A"}), "does not match the pattern"),
            (
                json!({"word": "a", "colour": "red"}),
                "unknown argument `colour`",
            ),
            (json!({}), "missing required argument `word`"),
            (json!({"times": 1}), "missing required argument `word`"),
        ] {
            let e = check(&schema(), args(bad.clone())).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn null_passes_only_where_the_schema_allows_it() {
        let schema = args(json!({"type": "object", "properties": {
            "maybe": {"type": ["string", "null"]},
            "list": {"type": "array", "items": {"type": "string"}}
        }}));
        check(&schema, args(json!({"maybe": null, "list": ["a"]}))).unwrap();
        let e = check(&schema, args(json!({"list": ["a", 1]}))).unwrap_err();
        assert!(e.to_string().contains("`list[1]` must be string"), "{e}");
        // Without additionalProperties: false, other arguments are let through.
        check(&schema, args(json!({"other": 1}))).unwrap();
    }
}
