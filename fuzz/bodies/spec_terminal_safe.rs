//! The one function untrusted text goes through on its way to a terminal. The first byte picks
//! the line mode and the width (20 to 275 characters); the rest is the text. Nothing a terminal
//! acts on gets through, the width holds, and the result is a fixed point.

use skillet_spec::display::{Lines, terminal_safe};

fn acts_on_terminal(c: char, lines: Lines) -> bool {
    if lines == Lines::Keep && matches!(c, '\n' | '\t') {
        return false;
    }
    c.is_control()
        || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

pub fn run(data: &[u8]) {
    let (pick, rest) = crate::input::choice(data, u8::MAX);
    let text = String::from_utf8_lossy(rest);
    let lines = if pick % 2 == 0 {
        Lines::Escape
    } else {
        Lines::Keep
    };
    let width = 20 + usize::from(pick);
    let shown = terminal_safe(&text, lines, width);
    assert!(
        !shown.chars().any(|c| acts_on_terminal(c, lines)),
        "{shown:?} from {text:?}"
    );
    assert!(
        shown.chars().count() <= width,
        "{shown:?} is wider than {width}"
    );
    assert_eq!(
        terminal_safe(&shown, lines, width),
        shown,
        "not a fixed point"
    );
}
