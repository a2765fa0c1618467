//! State documents as text. `skillet state` edits a document's top-level keys without passing
//! it through `serde_json::Value`: that would turn an integer beyond 64 bits (a Python skill
//! writes them freely) into an approximate float, and silently keep one of two equal keys. So
//! each top-level value is kept as the exact text it was stored as, and what comes in (`set`'s
//! VALUE, `import`'s document) is checked: duplicate keys at any depth are refused, and numbers
//! are kept digit for digit.

/// Why a text cannot go into a state document, and what to do.
#[derive(Debug, PartialEq, Eq)]
pub struct DocProblem {
    /// What is wrong, with the line and column.
    pub message: String,
    /// What to write instead.
    pub hint: String,
}

/// Checks that `text` is one JSON value that every reader of the state takes the same way: the
/// check a run's document passes before it is stored (`skillet_spec::strict_json`), so what
/// `set` and `import` store, the next run can read. Refused: invalid JSON, an object with a key
/// twice (JSON readers keep either one), a number past a double's range, and nesting deeper
/// than 128 levels (the errors carry the line and column).
pub fn check(text: &str) -> Result<(), DocProblem> {
    let Err(e) = skillet_spec::strict_json::parse(text) else {
        return Ok(());
    };
    let said = e.to_string();
    let hint = if said.contains("given twice") {
        "keep one of the two"
    } else if said.contains("recursion limit") {
        "a state document nests at most 128 levels of objects and arrays"
    } else if said.contains("out of range") || said.contains("not a finite number") {
        "a number must fit a double (about 1.8e308); store a larger one as a string"
    } else {
        "give one JSON value, e.g. {\"count\": 3}"
    };
    Err(DocProblem {
        message: format!("not a state document: {e}; nothing was changed"),
        hint: hint.into(),
    })
}

/// The members of the top-level object in `text` (already [`check`]ed: never call it on text
/// that was not, the walk recurses), in order, each value
/// as its exact text; `None` when the document is not an object (named by its kind).
pub fn members(text: &str) -> Result<Vec<(String, String)>, &'static str> {
    let mut scan = Scan::new(text);
    scan.ws();
    match scan.peek() {
        Some(b'{') => {}
        Some(b'[') => return Err("an array"),
        Some(b'"') => return Err("a string"),
        Some(b't' | b'f') => return Err("a boolean"),
        Some(b'n') => return Err("null"),
        _ => return Err("a number"),
    }
    let mut out = Vec::new();
    scan.object(|key, raw| out.push((key.to_owned(), raw.to_owned())));
    Ok(out)
}

/// A compact object of `members`.
pub fn object(members: &[(String, String)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k.clone())))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// `text` (valid JSON) indented two spaces a level, as `serde_json::to_string_pretty` lays
/// it out, every string and number kept exactly as written.
pub fn pretty(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut i = 0;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                let next = next_token(bytes, i + 1);
                if bytes.get(next) == Some(&close) {
                    out.push(open as char);
                    out.push(close as char);
                    i = next;
                } else {
                    out.push(open as char);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            close @ (b'}' | b']') => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(close as char);
            }
            b',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            b':' => out.push_str(": "),
            b'"' => {
                let end = string_end(bytes, i);
                out.push_str(&text[i..end]);
                i = end;
                continue;
            }
            _ => {
                let end = scalar_end(bytes, i);
                out.push_str(&text[i..end]);
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn next_token(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The index just past the string that starts at `start` (its opening quote).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just past the number or literal that starts at `start`.
fn scalar_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < bytes.len() && !matches!(bytes[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
    {
        i += 1;
    }
    i
}

/// A walk over text serde_json already accepted: syntax is not checked again, only what it
/// does not see.
struct Scan<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Scan<'a> {
        Scan { text, i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) {
        self.i = next_token(self.text.as_bytes(), self.i);
    }

    /// Skips one value. Recursive, so only for text [`check`] bounded to 128 levels.
    fn value(&mut self) {
        self.ws();
        match self.peek() {
            Some(b'{') => self.object(|_, _| {}),
            Some(b'[') => {
                self.i += 1;
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b']') | None => {
                            self.i += 1;
                            return;
                        }
                        Some(b',') => self.i += 1,
                        _ => self.value(),
                    }
                }
            }
            Some(b'"') => self.i = string_end(self.text.as_bytes(), self.i),
            _ => self.i = scalar_end(self.text.as_bytes(), self.i),
        }
    }

    /// Walks the object at the cursor (in text [`check`] accepted), giving each member's key and
    /// exact value text to `each`.
    fn object(&mut self, mut each: impl FnMut(&str, &str)) {
        self.i += 1;
        loop {
            self.ws();
            match self.peek() {
                Some(b'}') | None => {
                    self.i += 1;
                    return;
                }
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let at = self.i;
            let end = string_end(self.text.as_bytes(), at);
            let key: String = serde_json::from_str(&self.text[at..end]).unwrap_or_default();
            self.i = end;
            self.ws();
            self.i += 1; // the colon
            self.ws();
            let start = self.i;
            self.value();
            each(&key, &self.text[start..self.i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings_are_kept_exactly() {
        let doc = r#"{"big": 123456789012345678901234567890, "f": 0.1000000000000000000001, "s": "\u00e9\"", "n": [1e2, -0]}"#;
        check(doc).unwrap();
        let m = members(doc).unwrap();
        assert_eq!(
            m[0],
            ("big".into(), "123456789012345678901234567890".into())
        );
        assert_eq!(m[1].1, "0.1000000000000000000001");
        assert_eq!(m[2].1, r#""\u00e9\"""#);
        assert_eq!(m[3].1, "[1e2, -0]");
        assert_eq!(
            object(&m),
            r#"{"big":123456789012345678901234567890,"f":0.1000000000000000000001,"s":"\u00e9\"","n":[1e2, -0]}"#
        );
        assert_eq!(
            pretty(r#"{"a": [1, {}, []], "b": {"c": 18446744073709551616}}"#),
            "{\n  \"a\": [\n    1,\n    {},\n    []\n  ],\n  \"b\": {\n    \"c\": 18446744073709551616\n  }\n}"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth_and_in_any_spelling() {
        for doc in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": 1, "\u0061": 2}"#,
            r#"{"x": [{"k": 1, "k": 1}]}"#,
            r#"[{"k": {"d": 1, "d": 2}}]"#,
        ] {
            let problem = check(doc).unwrap_err();
            assert!(
                problem.message.contains("given twice"),
                "{doc}: {problem:?}"
            );
        }
        let problem = check("{\n  \"a\": 1,\n  \"a\": 2}").unwrap_err();
        assert!(problem.message.contains("line 3"), "{problem:?}");
        check(r#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#).unwrap();
    }

    /// What a run could not read back is refused here too (a run's document passes the same
    /// check), and nothing recurses without bound on the way.
    #[test]
    fn what_the_next_run_could_not_read_is_refused() {
        let nested = |n: usize| format!("{{\"k\": {}{}}}", "[".repeat(n), "]".repeat(n));
        for (doc, hint) in [
            (nested(200), "128 levels"),
            (nested(150_000), "128 levels"),
            (r#"{"x": 1e400}"#.to_owned(), "fit a double"),
            (r#"{"x": -2e308}"#.to_owned(), "fit a double"),
        ] {
            let problem = check(&doc).unwrap_err();
            assert!(problem.hint.contains(hint), "{problem:?}");
        }
        check(&nested(120)).unwrap();
        assert_eq!(members(&nested(120)).unwrap().len(), 1);
    }

    #[test]
    fn what_is_not_an_object_is_named() {
        assert_eq!(members("[1]"), Err("an array"));
        assert_eq!(members(" 3"), Err("a number"));
        assert_eq!(members("\"x\""), Err("a string"));
        assert_eq!(members("null"), Err("null"));
        assert!(check("{\"a\": ").is_err());
    }
}
