//! Cutting one fuzz input into the parts a body needs. Shared by the cargo-fuzz targets and
//! the stable tests (both include this file by path), so a crash input means the same to both.

/// The line that separates the parts of an input made of several documents (a skill and its
/// parameters, say). Written into seeds as it is; a mutation that breaks it only merges parts.
pub const SEPARATOR: &str = "\n%%\n";

/// The first `n` parts of `data`, as text (invalid UTF-8 replaced, as a lossy reader would),
/// missing parts empty.
pub fn parts(data: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let mut parts: Vec<String> = text.splitn(n, SEPARATOR).map(str::to_owned).collect();
    parts.resize(n, String::new());
    parts
}

/// The first byte as a selector among `choices` options, and the rest of the input.
pub fn choice(data: &[u8], choices: u8) -> (u8, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (first % choices, rest),
        None => (0, data),
    }
}
