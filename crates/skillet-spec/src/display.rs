//! Untrusted text made safe to show on a terminal.
//!
//! Skill files, packages, model answers, MCP and daemon clients and the history store all hand
//! skillet text that someone else wrote. Printed raw, an escape sequence in it can recolour or
//! hide what the user sees, rewrite earlier lines, set the window title or (OSC 52) write the
//! clipboard, and a bidi override can make text read differently from what it is. Everything such
//! text reaches a terminal through [`terminal_safe`]. JSON output keeps text exact, but JSON
//! escapes only C0 controls: [`json_inert`] writes the rest of what a terminal would act on (C1
//! controls, bidi overrides, invisible characters) as `\uXXXX` escapes, which every JSON reader
//! decodes to the same text.
//!
//! It lives here, in the crate every other crate depends on, so that the CLI, the MCP server's
//! and the daemon's stderr messages can all share the one function.

use std::borrow::Cow;
use std::fmt::Write as _;

/// What happens to line breaks and tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line, as a table cell or a `label: value` field needs: `\n`, `\r` and `\t` are shown
    /// as those escapes, so a value can neither break the layout nor forge a line of its own.
    Escape,
    /// Text whose line breaks mean something (a prompt, a model's answer, a diff): `\n` and `\t`
    /// stay, a carriage return (which can overwrite what is already on the line) is escaped.
    Keep,
}

/// `text` as it may be shown on a terminal.
///
/// - C0 controls (ESC included), DEL and C1 controls (U+0080–U+009F) become visible escapes:
///   `\x1b`, `\x07`, `\x7f`, `\u{9b}`; line breaks and tabs as `lines` says.
/// - Bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the invisible
///   direction marks (U+200E, U+200F, U+061C) and the Unicode line and paragraph separators
///   become `\u{202e}`-style markers, so that text reads in the order it is stored; so do
///   invisible characters that could hide text inside a name (zero width space, byte order
///   mark, soft hyphen and the like).
/// - A value longer than `max_chars` (counted after escaping) is cut, and ends with `…(N chars)`
///   giving the full length: the result is never longer than `max_chars` (keep it above 20 or
///   so, room for that ending).
///
/// Printable text, ASCII or not, is returned unchanged, without copying. The result is a fixed
/// point: passing it through again changes nothing.
///
/// ```
/// use skillet_spec::display::{Lines, terminal_safe};
/// assert_eq!(terminal_safe("plain text", Lines::Escape, 80), "plain text");
/// assert_eq!(
///     terminal_safe("\u{1b}[31mred\u{1b}]0;title\u{7}", Lines::Escape, 80),
///     r"\x1b[31mred\x1b]0;title\x07"
/// );
/// assert_eq!(terminal_safe("a\nb", Lines::Escape, 80), r"a\nb");
/// assert_eq!(terminal_safe("a\nb", Lines::Keep, 80), "a\nb");
/// assert_eq!(terminal_safe("abc\u{202e}", Lines::Escape, 80), r"abc\u{202e}");
/// assert_eq!(terminal_safe("tag\u{e0041}\u{3164}x", Lines::Escape, 80), r"tag\u{e0041}\u{3164}x");
/// assert_eq!(terminal_safe(&"x".repeat(100_000), Lines::Escape, 30), format!("{}…(100000 chars)", "x".repeat(15)));
/// ```
pub fn terminal_safe(text: &str, lines: Lines, max_chars: usize) -> Cow<'_, str> {
    let mut shown = 0;
    let clean = text.chars().all(|c| {
        shown += 1;
        shown <= max_chars && escape(c, lines).is_none()
    });
    if clean {
        return Cow::Borrowed(text);
    }
    let total = text.chars().count();
    let ending = format!("…({total} chars)");
    let budget = max_chars.saturating_sub(ending.chars().count());
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut shown = 0;
    // Where to cut should the whole not fit: the last point at which the ending still fits.
    let mut cut_at = None;
    let mut piece = String::new();
    for c in text.chars() {
        piece.clear();
        match escape(c, lines) {
            Some(escaped) => piece.push_str(&escaped),
            None => piece.push(c),
        }
        let len = piece.chars().count();
        if cut_at.is_none() && shown + len > budget {
            cut_at = Some(out.len());
        }
        if shown + len > max_chars {
            out.truncate(cut_at.unwrap_or(out.len()));
            out.push_str(&ending);
            return Cow::Owned(out);
        }
        out.push_str(&piece);
        shown += len;
    }
    Cow::Owned(out)
}

/// Appends `json` (JSON text, or a piece of it cut at a character boundary) to `out`, with each
/// character that [`terminal_safe`] would escape and JSON leaves raw (C1 controls, bidi
/// controls, invisible characters) written as a `\uXXXX` escape (a surrogate pair above
/// U+FFFF). Such characters only occur inside JSON strings, where the escape means the same
/// character, so the document reads back the same.
///
/// ```
/// use skillet_spec::display::json_inert;
/// let mut out = String::new();
/// json_inert(&serde_json::json!({"m": "a\u{9b}31m\u{202e}b\u{e0041}"}).to_string(), &mut out);
/// assert_eq!(out, r#"{"m":"a\u009b31m\u202eb\udb40\udc41"}"#);
/// let back: serde_json::Value = serde_json::from_str(&out).unwrap();
/// assert_eq!(back["m"], "a\u{9b}31m\u{202e}b\u{e0041}");
/// ```
pub fn json_inert(json: &str, out: &mut String) {
    for c in json.chars() {
        if c.is_ascii() || escape(c, Lines::Keep).is_none() {
            out.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            let _ = write!(out, "\\u{unit:04x}");
        }
    }
}

/// `path` as a unified diff's `---`/`+++` header names it, under `side` (`a` or `b`): as is
/// when it is plain, else in double quotes with `"`, `\\` and what [`terminal_safe`] escapes
/// written as escapes, as git quotes such names. A file name is the one part of a diff header
/// its writer chooses freely: a line break in it would otherwise end the header and start a
/// line of the writer's making.
///
/// ```
/// use skillet_spec::display::diff_label;
/// use std::path::Path;
/// assert_eq!(diff_label("a", Path::new("src/main.rs")), "a/src/main.rs");
/// assert_eq!(diff_label("b", Path::new("x\n+++ b/y")), r#""b/x\n+++ b/y""#);
/// assert_eq!(diff_label("a", Path::new("say \"hi\"")), r#""a/say \"hi\"""#);
/// use std::os::unix::ffi::OsStrExt;
/// let bytes = std::ffi::OsStr::from_bytes(b"bad\xff\xfe");
/// assert_eq!(diff_label("a", Path::new(bytes)), r#""a/bad\xff\xfe""#);
/// ```
pub fn diff_label(side: &str, path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut plain = true;
    let mut escaped = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        let text = chunk.valid();
        let safe = terminal_safe(text, Lines::Escape, usize::MAX);
        plain &= matches!(safe, Cow::Borrowed(_)) && !text.contains(['"', '\\']);
        // Quote and backslash first, so the escapes added after them read as escapes.
        let quoted = text.replace('\\', "\\\\").replace('"', "\\\"");
        escaped.push_str(&terminal_safe(&quoted, Lines::Escape, usize::MAX));
        // Bytes that are no text: two names differing only there must not look alike.
        for byte in chunk.invalid() {
            plain = false;
            let _ = write!(escaped, "\\x{byte:02x}");
        }
    }
    if plain {
        format!("{side}/{}", path.display())
    } else {
        format!("\"{side}/{escaped}\"")
    }
}

/// Characters that show nothing and join nothing a script or an emoji needs: zero width space,
/// word joiner and invisible operators, the byte order mark, the Mongolian vowel separator, the
/// interlinear annotation marks and the soft hyphen. Left raw they hide text inside a name
/// (`ls\u{200b}` is not `ls`); so do the blank "letters" (Hangul fillers, the blank braille
/// pattern), the combining grapheme joiner and the tag characters. ZWJ and ZWNJ stay: emoji
/// sequences and several scripts need them.
macro_rules! invisible {
    () => {
        '\u{ad}'
            | '\u{34f}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{180e}'
            | '\u{200b}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}'
    };
}

/// The visible form of a character that must not reach a terminal as itself.
fn escape(c: char, lines: Lines) -> Option<String> {
    let code = u32::from(c);
    let text = match c {
        '\n' | '\t' if lines == Lines::Keep => return None,
        '\n' => r"\n".to_owned(),
        '\r' => r"\r".to_owned(),
        '\t' => r"\t".to_owned(),
        '\0'..='\x1f' | '\x7f' => format!(r"\x{code:02x}"),
        '\u{80}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | invisible!() => {
            let mut text = String::new();
            let _ = write!(text, r"\u{{{code:x}}}");
            text
        }
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Characters a terminal or a bidi algorithm acts on.
    fn acts_on_terminal(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | invisible!())
    }

    #[test]
    fn every_escape_sequence_of_the_attacks_is_visible() {
        let attacks = [
            ("\u{1b}[31mred", r"\x1b[31mred"),
            ("\u{1b}]0;title\u{7}", r"\x1b]0;title\x07"),
            ("\u{1b}]52;c;aGVsbG8=\u{7}", r"\x1b]52;c;aGVsbG8=\x07"),
            ("\u{9b}31m", r"\u{9b}31m"),
            ("evil\u{202e}txt.exe", r"evil\u{202e}txt.exe"),
            ("\u{2066}isolate\u{2069}", r"\u{2066}isolate\u{2069}"),
            ("bell\u{7}del\u{7f}nul\0", r"bell\x07del\x7fnul\x00"),
            ("over\rwrite", r"over\rwrite"),
            ("nel\u{85}ls\u{2028}", r"nel\u{85}ls\u{2028}"),
            ("ls\u{200b}", r"ls\u{200b}"),
            (
                "\u{feff}bom\u{2060}wj\u{ad}",
                r"\u{feff}bom\u{2060}wj\u{ad}",
            ),
        ];
        for (raw, shown) in attacks {
            assert_eq!(terminal_safe(raw, Lines::Escape, 200), shown, "{raw:?}");
            assert_eq!(terminal_safe(raw, Lines::Keep, 200), shown, "{raw:?}");
        }
    }

    #[test]
    fn line_breaks_are_kept_only_when_asked() {
        assert_eq!(
            terminal_safe("a\n\tb\r\n", Lines::Escape, 80),
            r"a\n\tb\r\n"
        );
        assert_eq!(terminal_safe("a\n\tb\r\n", Lines::Keep, 80), "a\n\tb\\r\n");
    }

    #[test]
    fn printable_text_is_borrowed_unchanged() {
        for text in [
            "count-lines",
            "Zählt Zeilen",
            "行数を数える",
            "emoji 🦀",
            "family 👨\u{200d}👩\u{200d}👧",
            "a\\x1b",
        ] {
            assert!(matches!(
                terminal_safe(text, Lines::Escape, 80),
                Cow::Borrowed(t) if t == text
            ));
        }
    }

    #[test]
    fn overlong_values_are_cut_with_their_full_length() {
        let long = "d".repeat(100_000);
        let shown = terminal_safe(&long, Lines::Escape, 120);
        assert_eq!(shown.chars().count(), 120);
        assert!(shown.ends_with("…(100000 chars)"), "{shown}");
        // An escape is never cut in half.
        let escapes = "\u{1b}".repeat(1000);
        let shown = terminal_safe(&escapes, Lines::Escape, 50);
        assert!(shown.starts_with(r"\x1b\x1b"));
        assert!(shown.ends_with(r"\x1b…(1000 chars)"), "{shown}");
        // Exactly at the limit is not cut.
        assert_eq!(
            terminal_safe(&"e".repeat(50), Lines::Escape, 50),
            "e".repeat(50)
        );
    }

    proptest! {
        #[test]
        fn nothing_a_terminal_acts_on_gets_through(text in any::<String>(), max in 20usize..300) {
            for lines in [Lines::Escape, Lines::Keep] {
                let shown = terminal_safe(&text, lines, max);
                prop_assert!(
                    !shown.chars().any(|c| acts_on_terminal(c) && !(lines == Lines::Keep && (c == '\n' || c == '\t'))),
                    "{shown:?}"
                );
                prop_assert!(shown.chars().count() <= max);
                prop_assert_eq!(terminal_safe(&shown, lines, max), shown.clone());
            }
        }

        #[test]
        fn printable_ascii_is_unchanged(text in "[ -~]{0,300}") {
            prop_assert_eq!(terminal_safe(&text, Lines::Escape, 300), text.as_str());
        }

        #[test]
        fn hostile_mixes_are_escaped(parts in proptest::collection::vec(
            prop_oneof![
                Just("\u{1b}[31m".to_owned()), Just("\u{1b}]0;t\u{7}".to_owned()),
                Just("\u{9b}".to_owned()), Just("\u{202e}".to_owned()), Just("\u{2067}".to_owned()),
                "[ -~]{0,10}",
            ],
            0..40,
        )) {
            let text = parts.concat();
            let shown = terminal_safe(&text, Lines::Escape, 10_000);
            prop_assert!(!shown.chars().any(acts_on_terminal), "{shown:?}");
        }
    }
}
