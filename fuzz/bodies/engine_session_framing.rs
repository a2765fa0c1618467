//! Session framing: where one answer of a live interpreter ends in its output. The first byte
//! picks the framing (a known interpreter's sentinel marks, a prompt regular expression, JSON
//! lines); the rest is `session_config` JSON, `%%`, the input sent, `%%`, the bytes the
//! interpreter printed on stdout (also read as stderr).

use skillet_engine::session::{Framing, Recipe};

const TOKEN: &str = "SKILLET_END_3f9a";

pub fn run(data: &[u8]) {
    let (pick, rest) = crate::input::choice(data, 6);
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.splitn(3, crate::input::SEPARATOR);
    let (config, input) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    // The output as bytes: lossy text would hide the invalid UTF-8 an interpreter can print.
    let consumed = config.len() + input.len() + 2 * crate::input::SEPARATOR.len();
    let output = if text.len() == rest.len() {
        rest.get(consumed..).unwrap_or_default()
    } else {
        parts.next().unwrap_or("").as_bytes()
    };
    let command = [
        "python3",
        "node",
        "bash",
        "sqlite3",
        "ghci",
        "/usr/bin/python3.12",
    ][usize::from(pick)];
    let config = serde_json::from_str(config).ok();
    let framing = match Framing::choose(command, config.as_ref()) {
        Ok(framing) => framing,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = (Recipe::for_command(input), framing.prelude());
    let _ = framing.args(&[input.to_owned()]);
    let request = framing.request(input, 7, TOKEN);
    if matches!(framing, Framing::Sentinel(Recipe::Python)) {
        // The REPL reads one line; the helper it calls reads exactly the bytes the line counts,
        // so the next request starts a line of its own.
        let (line, rest) = request.split_once('\n').expect("a line for the REPL");
        let counted: usize = line
            .strip_prefix("__skillet_next(")
            .and_then(|l| l.strip_suffix(')'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a call of the helper: {line:?}"));
        assert_eq!(counted, rest.len(), "the count is the bytes that follow");
    } else if matches!(framing, Framing::Sentinel(_)) {
        assert!(
            request.ends_with('\n'),
            "a request ends its line: {request:?}"
        );
    }
    for id in [7, 0, u64::MAX] {
        if let Some(end) = framing.find_end(output, id, TOKEN) {
            assert!(
                end.output <= end.consumed && end.consumed <= output.len(),
                "an end outside the output: {end:?} of {} bytes",
                output.len()
            );
        }
    }
    if let Some((start, end)) = framing.find_stderr_end(output, TOKEN) {
        assert!(
            start <= end && end <= output.len(),
            "{start}..{end} of {}",
            output.len()
        );
    }
}
