//! `{param}` templates: parsed once, rendered in a single pass.
//!
//! Syntax: `{name}` (a parameter name: letters, digits and `_`, not starting with a digit) is a
//! placeholder; `{{` and `}}` are literal braces; any other brace is literal too, so `awk '{print $1}'`
//! needs no escaping. A rendered value is inserted verbatim and never scanned again, so a value that
//! itself contains `{other}` stays exactly as given.

use std::borrow::Cow;

/// The placeholder skillet fills itself with the real path of the skill's own folder, so a
/// skill finds the scripts it ships wherever it runs. It is an absolute path, so it may only
/// start an argument (`{skill_dir}/tool.py`), never stand inside one or inside inline code.
pub const SKILL_DIR_PLACEHOLDER: &str = "skill_dir";

/// The placeholder skillet fills itself with every given parameter as one JSON object
/// (`{"file": "a.txt", "count": 3}`), as the v1 design handed parameters to its scripts in
/// `argv[1]`. It is data in one argument of its own: it must be a whole argument or environment
/// value, never part of one or of inline code.
pub const PARAMS_JSON_PLACEHOLDER: &str = "params_json";

/// A parsed template.
///
/// ```
/// use skillet_spec::Template;
/// let t = Template::parse("Hello {name}! {{literal}}");
/// assert_eq!(t.placeholders().collect::<Vec<_>>(), ["name"]);
/// let out = t.render(|p| (p == "name").then_some("{name}")).unwrap();
/// assert_eq!(out, "Hello {name}! {literal}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// Placeholder name and its byte offset in the source text.
    Param(String, usize),
}

/// A placeholder with no value at render time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no value for placeholder `{{{0}}}`")]
pub struct MissingValue(pub String);

impl Template {
    /// Parses a template. Parsing cannot fail: text that is not a placeholder is literal.
    pub fn parse(text: &str) -> Template {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' if bytes.get(i + 1) == Some(&b'{') => {
                    literal.push('{');
                    i += 2;
                }
                b'}' if bytes.get(i + 1) == Some(&b'}') => {
                    literal.push('}');
                    i += 2;
                }
                b'{' => match placeholder_at(text, i) {
                    Some(name) => {
                        if !literal.is_empty() {
                            segments.push(Segment::Literal(std::mem::take(&mut literal)));
                        }
                        segments.push(Segment::Param(name.to_owned(), i));
                        i += name.len() + 2;
                    }
                    None => {
                        literal.push('{');
                        i += 1;
                    }
                },
                _ => {
                    // Copy the whole UTF-8 character; braces are ASCII so they never split one.
                    let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
                    literal.push_str(&text[i..i + ch_len]);
                    i += ch_len;
                }
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Template { segments }
    }

    /// Names of the placeholders, in order of appearance (repeats included).
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name, _) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Placeholders with their byte offsets in the source text.
    pub fn placeholder_offsets(&self) -> impl Iterator<Item = (&str, usize)> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name, at) => Some((name.as_str(), *at)),
            Segment::Literal(_) => None,
        })
    }

    /// Whether the template has any placeholder.
    pub fn has_placeholders(&self) -> bool {
        self.placeholders().next().is_some()
    }

    /// The placeholder the rendered text starts with, if it starts with one.
    pub fn leading_placeholder(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Param(name, _)) => Some(name),
            _ => None,
        }
    }

    /// The placeholder, when the template is exactly one placeholder and nothing else.
    pub fn sole_placeholder(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [Segment::Param(name, _)] => Some(name),
            _ => None,
        }
    }

    /// Renders with values from `lookup`, in one pass.
    pub fn render<'v>(
        &self,
        lookup: impl Fn(&str) -> Option<&'v str>,
    ) -> Result<String, MissingValue> {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Param(name, _) => {
                    out.push_str(lookup(name).ok_or_else(|| MissingValue(name.clone()))?)
                }
            }
        }
        Ok(out)
    }
}

/// The placeholder name starting at `text[open]` (which is `{`), if it is a valid one.
fn placeholder_at(text: &str, open: usize) -> Option<&str> {
    let rest = &text[open + 1..];
    let close = rest.find('}')?;
    let name = &rest[..close];
    is_placeholder_name(name).then_some(name)
}

fn is_placeholder_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Escapes braces so that `text` renders as itself: `{` -> `{{`, `}` -> `}}`.
///
/// ```
/// assert_eq!(skillet_spec::template::escape("fn main() {}"), "fn main() {{}}");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    if text.contains(['{', '}']) {
        Cow::Owned(text.replace('{', "{{").replace('}', "}}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn render(t: &str, name: &str, value: &str) -> Result<String, MissingValue> {
        Template::parse(t).render(|p| (p == name).then_some(value))
    }

    #[test]
    fn placeholders_and_escapes() {
        assert_eq!(render("a {x} b", "x", "1").unwrap(), "a 1 b");
        assert_eq!(render("{{x}}", "x", "1").unwrap(), "{x}");
        assert_eq!(render("{{{x}}}", "x", "1").unwrap(), "{1}");
        assert_eq!(
            render("awk '{print $1}'", "x", "1").unwrap(),
            "awk '{print $1}'"
        );
        assert_eq!(render("{ x }", "x", "1").unwrap(), "{ x }");
        assert_eq!(render("{}", "x", "1").unwrap(), "{}");
        assert_eq!(render("héllo {x}é", "x", "ü").unwrap(), "héllo üé");
        assert_eq!(render("{y}", "x", "1"), Err(MissingValue("y".into())));
    }

    #[test]
    fn leading_placeholder() {
        assert_eq!(
            Template::parse("{file}").leading_placeholder(),
            Some("file")
        );
        assert_eq!(
            Template::parse("{file}.txt").leading_placeholder(),
            Some("file")
        );
        assert_eq!(Template::parse("--file={file}").leading_placeholder(), None);
    }

    proptest! {
        #[test]
        fn a_value_is_never_expanded(value in ".*") {
            let out = render("<{v}>", "v", &value).unwrap();
            prop_assert_eq!(out, format!("<{value}>"));
        }

        #[test]
        fn parsing_and_rendering_never_panic(text in ".*", value in ".*") {
            let t = Template::parse(&text);
            let names: Vec<String> = t.placeholders().map(str::to_owned).collect();
            let out = t.render(|p| names.iter().any(|n| n == p).then_some(value.as_str()));
            prop_assert!(out.is_ok());
        }

        #[test]
        fn escaped_text_renders_as_itself(text in ".*") {
            let out = Template::parse(&escape(&text)).render(|_| None).unwrap();
            prop_assert_eq!(out, text);
        }
    }
}
