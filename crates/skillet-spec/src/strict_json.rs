//! JSON as `serde_json` reads it, with nothing left to the reader's choice: an object with a key
//! twice is refused (`serde_json` keeps the last, other readers the first), as are numbers past
//! the range of a double and nesting deeper than `serde_json`'s 128 levels.
//!
//! Whatever skillet stores for a skill to read back later (a state document) is checked by this
//! one function wherever it comes from (a run, `skillet state set` or `import`), so what one part
//! accepts another can always read.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Parses `text` as one JSON value, refusing a key given twice in any object. The error carries
/// the line and column, as every `serde_json` error does.
///
/// ```
/// assert!(skillet_spec::strict_json::parse(r#"{"a": [1, {"b": 2}]}"#).is_ok());
/// let twice = skillet_spec::strict_json::parse(r#"{"a": {"b": 1, "b": 2}}"#).unwrap_err();
/// assert!(twice.to_string().contains("`b` is given twice"));
/// assert!(skillet_spec::strict_json::parse("1e400").is_err());
/// ```
pub fn parse(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<Strict>(text).map(|Strict(value)| value)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strict, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = serde_json::Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the key `{}` is given twice in one object",
                    key.escape_debug()
                )));
            }
            let Strict(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn refuses_what_a_reader_could_take_two_ways_or_not_at_all() {
        for (text, says) in [
            (r#"{"a": 1, "a": 2}"#, "`a` is given twice"),
            (r#"[{"x": {"y": 1, "y": 1}}]"#, "`y` is given twice"),
            ("1e400", "number out of range"),
            ("-1e309", "number out of range"),
            // Infinity once correctly rounded (serde_json's float_roundtrip, as Python reads it).
            ("1.79769313486231581e308", "number out of range"),
            ("[1, 2", "EOF"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(
            parse(&deep)
                .unwrap_err()
                .to_string()
                .contains("recursion limit")
        );
        // Deeper than any stack would hold, refused without overflowing this one.
        let deeper = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
        assert!(parse(&deeper).is_err());
    }

    #[test]
    fn keeps_what_serde_json_keeps() {
        let big = "123456789012345678901234567890";
        assert!(parse(big).unwrap().is_f64());
        assert_eq!(
            parse(r#"{"a": "b", "c": [null, true]}"#).unwrap()["c"][1],
            true
        );
    }
}
