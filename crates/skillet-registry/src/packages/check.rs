//! The integrity check done on every load of a package's skill: its files against the receipt,
//! by metadata first, hashing only a file whose size is the same but whose times differ.

use std::collections::BTreeMap;
use std::path::Path;

use skillet_spec::Diagnostic;

use super::ReceiptFile;
use super::tree::{Kind, TreeFile, digest, walk_under};

/// What the user is told to do about a changed package.
pub(crate) const CHANGE_HINT: &str = "run `skillet verify` to see every change; reinstall the package, or accept the change with `skillet verify --accept`";

/// How a file differs from the receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Modified,
    Missing,
    Added,
}

impl Change {
    fn words(self) -> &'static str {
        match self {
            Change::Modified => "was modified",
            Change::Missing => "was removed",
            Change::Added => "was added",
        }
    }
}

/// Whether `path` (relative to the package's folder) lies under `prefix` (`""`: everything).
fn under(path: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Every difference between the files under `prefix` in `dir` and the receipt, sorted by path.
pub(crate) fn changes_under(
    dir: &Path,
    prefix: &str,
    recorded: &BTreeMap<&str, &ReceiptFile>,
) -> std::io::Result<Vec<(Change, String)>> {
    let found = walk_under(dir, prefix)?;
    let mut out = Vec::new();
    for file in &found {
        match recorded.get(file.path.as_str()) {
            None => out.push((Change::Added, file.path.clone())),
            Some(r) if !same(dir, file, r) => out.push((Change::Modified, file.path.clone())),
            Some(_) => {}
        }
    }
    let seen: std::collections::BTreeSet<&str> = found.iter().map(|f| f.path.as_str()).collect();
    for path in recorded.keys() {
        if under(path, prefix) && !seen.contains(path) {
            out.push((Change::Missing, (*path).to_owned()));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Whether a file is still what the receipt recorded: its metadata first, its digest only when
/// the metadata leaves doubt.
fn same(dir: &Path, file: &TreeFile, recorded: &ReceiptFile) -> bool {
    let is_link = recorded.sha256.starts_with("symlink:");
    let kind_ok = match file.stat.kind {
        Kind::File => !is_link,
        Kind::Symlink => is_link,
        Kind::Special => false,
    };
    if !kind_ok || file.stat.size != recorded.size {
        return false;
    }
    let ctime_ok = recorded.ctime_ns == 0 || recorded.ctime_ns == file.stat.ctime_ns;
    if file.stat.mtime_ns == recorded.mtime_ns && ctime_ok {
        return true;
    }
    digest(&dir.join(&file.path), &file.stat).is_ok_and(|d| d == recorded.sha256)
}

/// The error that marks a skill of package `package` broken, naming the first change and
/// counting the others; `None` when nothing under the skill changed.
pub(crate) fn integrity_error(
    package: &str,
    dir: &Path,
    prefix: &str,
    recorded: &BTreeMap<&str, &ReceiptFile>,
) -> Option<Diagnostic> {
    let changes = match changes_under(dir, prefix, recorded) {
        Ok(c) => c,
        Err(e) => {
            return Some(
                Diagnostic::error(format!(
                    "package `{package}`: cannot check its installed files ({e})"
                ))
                .with_hint(CHANGE_HINT),
            );
        }
    };
    let (change, path) = changes.first()?;
    let more = match changes.len() - 1 {
        0 => String::new(),
        1 => " (and 1 more change)".to_owned(),
        n => format!(" (and {n} more changes)"),
    };
    Some(
        Diagnostic::error(format!(
            "package `{package}`: {} {} since it was installed{more}",
            dir.join(path).display(),
            change.words(),
        ))
        .with_hint(CHANGE_HINT),
    )
}
