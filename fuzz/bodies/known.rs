//! Findings of the fuzz targets that are reported and not fixed yet (docs/robustness.md, "Known
//! findings"). Each has its own regression test, ignored until the fix lands; the bodies leave
//! its class out so that fuzzing goes on finding new ones.

/// Whether a canonical skill is one of the known ambiguous ones (docs/robustness.md, "Known
/// findings"): a `command` holding whitespace with no `args`, from a split command line whose
/// one word was quoted. Read back, it is taken as a whole command line and split again, so it
/// does not round-trip; the fuzz bodies leave that class to its regression test.
pub fn ambiguous_command(canonical: &serde_json::Value) -> bool {
    let command = canonical["command"].as_str().unwrap_or_default();
    let no_args = canonical
        .get("args")
        .is_none_or(|a| a.as_array().is_some_and(Vec::is_empty));
    no_args
        && command.trim().contains(char::is_whitespace)
        && !command.trim_start().starts_with('/')
}
