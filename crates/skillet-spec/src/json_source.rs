//! Strict JSON parsing that remembers where every value came from.
//!
//! `serde_json` reports a position only for syntax errors. Validation needs one for every field
//! it complains about, so the text can be parsed with `jsonc-parser` (all JSON5/JSONC
//! leniencies off) into an AST, which is turned into a `serde_json::Value` plus an index from
//! JSON pointer to position. Most files have nothing to complain about, and that index was most
//! of the cost of reading them (a listing of 1,000 skills read every file): so a file is first
//! parsed by `serde_json` alone, refusing duplicate keys, and the positions are made from the
//! text only when something asks for one. Whatever `serde_json` refuses goes the long way, which
//! gives the same value or the positioned error it always did.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonc_parser::ast;
use jsonc_parser::common::Ranged;
use serde_json::Value;

use crate::diagnostic::{Diagnostic, Position};
use crate::limits::{MAX_NESTING_DEPTH, MAX_SKILL_FILE_BYTES};

/// A parsed JSON document and the positions of its values.
#[derive(Debug)]
pub struct JsonDocument {
    /// The parsed value.
    pub value: Value,
    text: String,
    /// Made on the first question about a position.
    spans: OnceLock<Spans>,
}

#[derive(Debug)]
struct Spans {
    by_pointer: HashMap<String, NodeSpan>,
    lines: LineIndex,
    /// The first number past the range of a double, and where it starts.
    out_of_range: Option<(usize, String)>,
}

#[derive(Debug, Clone, Copy)]
struct NodeSpan {
    key: Option<usize>,
    value: usize,
}

impl JsonDocument {
    /// Parses strict JSON. Errors carry the position of the problem.
    pub fn parse(text: &str) -> Result<JsonDocument, Diagnostic> {
        check_size_and_depth(text)?;
        if let Ok(value) = crate::strict_json::parse(text) {
            return Ok(JsonDocument {
                value,
                text: text.to_owned(),
                spans: OnceLock::new(),
            });
        }
        let (value, spans) = parse_with_positions(text)?;
        Ok(JsonDocument {
            value,
            text: text.to_owned(),
            spans: OnceLock::from(spans),
        })
    }

    /// Position of the value at `pointer` (RFC 6901), or of its nearest ancestor that exists.
    pub fn value_position(&self, pointer: &str) -> Position {
        self.find(pointer, |s| s.value)
    }

    /// Position of the key of the field at `pointer`, or of the value when it has no key.
    pub fn key_position(&self, pointer: &str) -> Position {
        self.find(pointer, |s| s.key.unwrap_or(s.value))
    }

    fn find(&self, pointer: &str, pick: impl Fn(&NodeSpan) -> usize) -> Position {
        let spans = self.spans.get_or_init(|| {
            // The text parsed once already, so this succeeds; if it did not, positions fall
            // back to the start of the file rather than failing the load.
            parse_with_positions(&self.text).map_or_else(
                |_| Spans {
                    by_pointer: HashMap::new(),
                    lines: LineIndex::new(&self.text),
                    out_of_range: None,
                },
                |(_, spans)| spans,
            )
        });
        let mut p = pointer;
        loop {
            if let Some(span) = spans.by_pointer.get(p) {
                return spans.lines.position(pick(span));
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Position::START,
            }
        }
    }
}

/// The long way: `jsonc-parser`'s AST, turned into the value and the position of every node.
fn parse_with_positions(text: &str) -> Result<(Value, Spans), Diagnostic> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let lines = LineIndex::new(text);
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &options).map_err(|e| {
        Diagnostic::error(format!("invalid JSON: {}", e.kind()))
            .at(lines.position(e.range().start))
            .with_hint("a skill file is one strict JSON object: no comments, no trailing commas")
    })?;
    let Some(root) = parsed.value else {
        return Err(Diagnostic::error("the file is empty")
            .at(Position::START)
            .with_hint(
                "write a JSON object such as {\"name\": \"my-skill\", \"type\": \"prompt_inline\", …}",
            ));
    };
    let mut spans = Spans {
        by_pointer: HashMap::new(),
        lines,
        out_of_range: None,
    };
    let mut duplicates = Vec::new();
    let value = spans.convert(&root, String::new(), None, &mut duplicates);
    if let Some((offset, number)) = spans.out_of_range.take() {
        return Err(Diagnostic::error(format!(
            "the number {number} is past the range of a double (about 1.8e308)"
        ))
        .at(spans.lines.position(offset))
        .with_hint("write a number skillet can hold, or leave the field out"));
    }
    if let Some((pointer, offset)) = duplicates.into_iter().next() {
        return Err(
            Diagnostic::error(format!("duplicate field `{}`", last_segment(&pointer)))
                .at(spans.lines.position(offset))
                .with_hint("each field may appear once; remove one of them"),
        );
    }
    Ok((value, spans))
}

impl Spans {
    fn convert(
        &mut self,
        node: &ast::Value<'_>,
        pointer: String,
        key: Option<usize>,
        duplicates: &mut Vec<(String, usize)>,
    ) -> Value {
        self.by_pointer.insert(
            pointer.clone(),
            NodeSpan {
                key,
                value: node.start(),
            },
        );
        match node {
            ast::Value::StringLit(s) => Value::String(s.value.to_string()),
            // The scanner has already checked the number's syntax, so only overflow can fail
            // here; such a number is reported, never read as `null` (a limit left unset).
            ast::Value::NumberLit(n) => serde_json::from_str::<serde_json::Number>(n.value)
                .map(Value::Number)
                .unwrap_or_else(|_| {
                    self.out_of_range
                        .get_or_insert((n.range.start, n.value.to_owned()));
                    Value::Null
                }),
            ast::Value::BooleanLit(b) => Value::Bool(b.value),
            ast::Value::NullKeyword(_) => Value::Null,
            ast::Value::Array(a) => Value::Array(
                a.elements
                    .iter()
                    .enumerate()
                    .map(|(i, el)| self.convert(el, format!("{pointer}/{i}"), None, duplicates))
                    .collect(),
            ),
            ast::Value::Object(o) => {
                let mut map = serde_json::Map::new();
                for prop in &o.properties {
                    let name = prop.name.as_str();
                    let child = format!("{pointer}/{}", escape_pointer_segment(name));
                    if map.contains_key(name) {
                        duplicates.push((child.clone(), prop.range.start));
                    }
                    let value =
                        self.convert(&prop.value, child, Some(prop.range.start), duplicates);
                    map.insert(name.to_owned(), value);
                }
                Value::Object(map)
            }
        }
    }
}

/// Rejects oversized or pathologically nested input before the recursive parser sees it.
fn check_size_and_depth(text: &str) -> Result<(), Diagnostic> {
    if text.len() > MAX_SKILL_FILE_BYTES {
        return Err(too_large(text.len() as u64));
    }
    let (mut depth, mut deepest, mut first_over) = (0usize, 0usize, None);
    let (mut in_string, mut escaped) = (false, false);
    for (offset, byte) in text.bytes().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > MAX_NESTING_DEPTH && first_over.is_none() {
                    first_over = Some(offset);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    match first_over {
        Some(offset) => Err(Diagnostic::error(format!(
            "arrays and objects are nested {deepest} levels deep; the limit is {MAX_NESTING_DEPTH}"
        ))
        .at(LineIndex::new(text).position(offset))
        .with_hint("a skill file never needs this much nesting; flatten the structure")),
        None => Ok(()),
    }
}

/// The diagnostic for a skill JSON file of `size` bytes, over [`MAX_SKILL_FILE_BYTES`].
pub(crate) fn too_large(size: u64) -> Diagnostic {
    Diagnostic::error(format!(
        "the file is {size} bytes; the limit for a skill file is {MAX_SKILL_FILE_BYTES} bytes (1 MiB)"
    ))
    .at(Position::START)
    .with_hint("move large prompts or data into files beside the skill and reference them")
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn escape_pointer_segment(segment: &str) -> std::borrow::Cow<'_, str> {
    // Nearly every key needs no escape: borrowing it saves two strings a field on every load.
    if segment.contains(['~', '/']) {
        segment.replace('~', "~0").replace('/', "~1").into()
    } else {
        segment.into()
    }
}

fn last_segment(pointer: &str) -> String {
    pointer
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .replace("~1", "/")
        .replace("~0", "~")
}

/// Turns a JSON pointer into the dotted form people read: `/parameters/0/type` -> `parameters[0].type`.
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

/// Maps byte offsets to line and column.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    text: String,
    /// In ASCII text a column is a byte count: no need to count characters along a line that
    /// may be a megabyte long, once per diagnostic.
    ascii: bool,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex {
            starts,
            text: text.to_owned(),
            ascii: text.is_ascii(),
        }
    }

    /// The 1-based position of a byte offset.
    pub fn position(&self, offset: usize) -> Position {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let end = offset.min(self.text.len());
        let column = if self.ascii {
            end.saturating_sub(start) + 1
        } else {
            self.text
                .get(start..end)
                .map_or(1, |s| s.chars().count() + 1)
        };
        Position { line, column }
    }
}

#[cfg(test)]
mod tests;
