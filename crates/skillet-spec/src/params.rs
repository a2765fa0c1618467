//! Checking parameter values against their declarations, and turning them into text.

use std::fmt;

use regex::Regex;
use serde_json::Value;

use crate::model::{ParamKind, ParameterSpec};

/// A parameter value that passed its declaration's checks.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// `string` and `enum` values.
    Text(String),
    /// `path` values.
    Path(String),
    /// `integer` values.
    Integer(i64),
    /// `number` values.
    Number(f64),
    /// `boolean` values.
    Boolean(bool),
}

impl ParamValue {
    /// The value as it goes into an argument, an environment variable or a prompt.
    ///
    /// ```
    /// use skillet_spec::ParamValue;
    /// assert_eq!(ParamValue::Number(2.5).to_text(), "2.5");
    /// assert_eq!(ParamValue::Number(3.0).to_text(), "3");
    /// assert_eq!(ParamValue::Boolean(false).to_text(), "false");
    /// ```
    pub fn to_text(&self) -> String {
        match self {
            ParamValue::Text(s) | ParamValue::Path(s) => s.clone(),
            ParamValue::Integer(i) => i.to_string(),
            ParamValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
            ParamValue::Number(n) => n.to_string(),
            ParamValue::Boolean(b) => b.to_string(),
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            ParamValue::Text(s) | ParamValue::Path(s) => Value::String(s.clone()),
            ParamValue::Integer(i) => Value::from(*i),
            ParamValue::Number(n) => {
                serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
            ParamValue::Boolean(b) => Value::Bool(*b),
        }
    }
}

/// Why a value does not fit its parameter. Displays as a sentence naming what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParamError {
    /// The parameter.
    pub name: String,
    /// What was wrong, e.g. "expected an integer, got \"abc\"".
    pub reason: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parameter `{}`: {}", self.name, self.reason)
    }
}

impl ParameterSpec {
    /// Checks a value (from JSON, or a string from the command line) against this declaration.
    ///
    /// Strings are accepted for every type and parsed (`"5"` for an integer, `"true"` for a
    /// boolean), since command-line values are always strings.
    ///
    /// ```
    /// use skillet_spec::{ParameterSpec, ParamKind, ParamValue};
    /// let p: ParameterSpec = serde_json::from_str(r#"{"name":"n","type":"integer","max":10}"#).unwrap();
    /// assert_eq!(p.check(&"7".into()).unwrap(), ParamValue::Integer(7));
    /// assert!(p.check(&"11".into()).unwrap_err().to_string().contains("at most 10"));
    /// ```
    pub fn check(&self, raw: &Value) -> Result<ParamValue, ParamError> {
        let fail = |reason: String| ParamError {
            name: self.name.clone(),
            reason,
        };
        let shown = || match raw {
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        let value = match self.kind {
            ParamKind::String | ParamKind::Enum | ParamKind::Path => {
                let text = match raw {
                    Value::String(s) => s.clone(),
                    Value::Number(n) if self.kind != ParamKind::Path => n.to_string(),
                    Value::Bool(b) if self.kind != ParamKind::Path => b.to_string(),
                    _ => {
                        return Err(fail(format!(
                            "expected a {}, got {}",
                            self.kind.as_str(),
                            shown()
                        )));
                    }
                };
                if text.contains('\0') {
                    return Err(fail("the value contains a NUL byte".into()));
                }
                if self.kind == ParamKind::Enum && !self.values.contains(&text) {
                    return Err(fail(format!(
                        "expected one of {}, got {}",
                        one_of(&self.values),
                        shown()
                    )));
                }
                if self.kind == ParamKind::Path && text.is_empty() {
                    return Err(fail("expected a path, got an empty string".into()));
                }
                let len = text.chars().count() as f64;
                if let Some(min) = self.min.filter(|m| len < *m) {
                    return Err(fail(format!(
                        "expected at least {min} characters, got {len}"
                    )));
                }
                if let Some(max) = self.max.filter(|m| len > *m) {
                    return Err(fail(format!(
                        "expected at most {max} characters, got {len}"
                    )));
                }
                if self.kind == ParamKind::Path {
                    ParamValue::Path(text)
                } else {
                    ParamValue::Text(text)
                }
            }
            ParamKind::Integer => {
                let n = match raw {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                }
                .ok_or_else(|| fail(format!("expected an integer, got {}", shown())))?;
                self.check_range(n as f64).map_err(fail)?;
                ParamValue::Integer(n)
            }
            ParamKind::Number => {
                let n = match raw {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                }
                .filter(|n| n.is_finite())
                .ok_or_else(|| fail(format!("expected a number, got {}", shown())))?;
                self.check_range(n).map_err(fail)?;
                ParamValue::Number(n)
            }
            ParamKind::Boolean => match raw {
                Value::Bool(b) => ParamValue::Boolean(*b),
                Value::String(s) if s == "true" => ParamValue::Boolean(true),
                Value::String(s) if s == "false" => ParamValue::Boolean(false),
                _ => return Err(fail(format!("expected true or false, got {}", shown()))),
            },
        };
        if let Some(pattern) = &self.pattern {
            let text = value.to_text();
            // An invalid pattern is reported when the skill loads; here it simply cannot match.
            let matches = anchored(pattern).is_ok_and(|re| re.is_match(&text));
            if !matches {
                return Err(fail(format!(
                    "{} does not match the pattern {pattern}",
                    shown()
                )));
            }
        }
        Ok(value)
    }

    fn check_range(&self, n: f64) -> Result<(), String> {
        if let Some(min) = self.min.filter(|m| n < *m) {
            return Err(format!("expected at least {min}, got {n}"));
        }
        if let Some(max) = self.max.filter(|m| n > *m) {
            return Err(format!("expected at most {max}, got {n}"));
        }
        Ok(())
    }
}

/// Compiles a parameter pattern so that it must match the whole value.
pub fn anchored(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})$"))
}

fn one_of(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn param(json: Value) -> ParameterSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn numbers_and_booleans_render_as_text() {
        let p = param(json!({"name": "n", "type": "number"}));
        assert_eq!(p.check(&json!(2.5)).unwrap().to_text(), "2.5");
        assert_eq!(p.check(&json!("1e3")).unwrap().to_text(), "1000");
        let b = param(json!({"name": "b", "type": "boolean"}));
        assert_eq!(b.check(&json!(true)).unwrap().to_text(), "true");
        assert_eq!(b.check(&json!("false")).unwrap().to_text(), "false");
        assert!(b.check(&json!("yes")).is_err());
    }

    #[test]
    fn integer_rejects_fractions_and_junk() {
        let p = param(json!({"name": "n", "type": "integer", "min": 1}));
        assert!(p.check(&json!(1.5)).is_err());
        assert!(p.check(&json!("x")).is_err());
        let e = p.check(&json!(0)).unwrap_err();
        assert_eq!(e.to_string(), "parameter `n`: expected at least 1, got 0");
    }

    #[test]
    fn enum_names_the_choices() {
        let p = param(json!({"name": "c", "type": "enum", "values": ["red", "blue"]}));
        assert_eq!(
            p.check(&json!("red")).unwrap(),
            ParamValue::Text("red".into())
        );
        let e = p.check(&json!("green")).unwrap_err();
        assert!(e.reason.contains("\"red\", \"blue\""), "{e}");
    }

    #[test]
    fn pattern_matches_the_whole_value() {
        let p = param(json!({"name": "s", "type": "string", "pattern": "[a-z]+"}));
        assert!(p.check(&json!("abc")).is_ok());
        assert!(p.check(&json!("abc; rm -rf ~")).is_err());
        assert!(p.check(&json!("x\0y")).is_err());
    }
}
