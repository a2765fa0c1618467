//! The workspace `skillet.toml` read leniently: an unknown key is a warning with its line, and
//! is removed before the file is read again, so one stray key does not stop every command.

use std::path::Path;

use super::{ConfigError, ConfigFile, MAX_CONFIG_BYTES};

/// Reads `<root>/.skillet/skillet.toml` beneath the workspace root: a repository may ship it as
/// a link to `~/.aws/credentials`, whose lines a parse error would quote, so a link leading out
/// of the workspace, a FIFO or a device is refused unread. `None` when there is no file.
pub(crate) fn read_workspace_text(path: &Path) -> Result<Option<String>, ConfigError> {
    use skillet_spec::files::{FileError, read_beneath, read_regular};
    let root = path.parent().and_then(Path::parent);
    let read = match root {
        Some(root) => read_beneath(root, path, MAX_CONFIG_BYTES),
        None => read_regular(path, MAX_CONFIG_BYTES),
    };
    let error = |message: String| ConfigError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(message),
    };
    match read {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| error("it is not UTF-8 text; save it as UTF-8".into())),
        Err(FileError::NotFound) => Ok(None),
        Err(e) => Err(error(format!("it {e}"))),
    }
}

/// Reads a workspace file, where an unknown key is a warning and is ignored: the file comes
/// with a repository (perhaps written for a newer skillet), and one stray key must not stop
/// every command there. Invalid TOML and a wrong value type stay errors.
pub(super) fn read_lenient(
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<Option<ConfigFile>, ConfigError> {
    let Some(mut text) = read_workspace_text(path)? else {
        return Ok(None);
    };
    // Original line numbers of the keys removed so far, so later warnings still name the
    // line the user sees.
    let mut removed_lines: Vec<usize> = Vec::new();
    loop {
        let error = match toml::from_str::<ConfigFile>(&text) {
            Ok(file) => return Ok(Some(file)),
            Err(error) => error,
        };
        let unknown =
            error.message().starts_with("unknown field") && removed_lines.len() < MAX_IGNORED_KEYS;
        let found = error
            .span()
            .filter(|_| unknown)
            .and_then(|span| unknown_key_removed(&text, &span).map(|edit| (span, edit)));
        let Some((span, (key_path, edited))) = found else {
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message: error.to_string(),
            });
        };
        let mut line = text[..span.start].matches('\n').count() + 1;
        for removed in &removed_lines {
            if *removed <= line {
                line += 1;
            }
        }
        removed_lines.push(line);
        removed_lines.sort_unstable();
        let reason = error
            .message()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        warnings.push(format!(
            "{}:{line}: {reason}; `{key_path}` is ignored (remove it, or fix its spelling)",
            path.display()
        ));
        text = edited;
    }
}

/// More unknown keys than this in one workspace file is not a stray key: refuse the file.
const MAX_IGNORED_KEYS: usize = 64;

/// The dotted path of the key at `span` in `text`, and `text` without that key.
fn unknown_key_removed(text: &str, span: &std::ops::Range<usize>) -> Option<(String, String)> {
    let document = toml_edit::Document::parse(text).ok()?;
    let mut path = Vec::new();
    if !key_path_at(document.as_table(), span, &mut path) {
        return None;
    }
    let mut document = document.into_mut();
    let (last, parents) = path.split_last()?;
    let mut table: &mut dyn toml_edit::TableLike = document.as_table_mut();
    for name in parents {
        table = table.get_mut(name)?.as_table_like_mut()?;
    }
    table.remove(last)?;
    Some((path.join("."), document.to_string()))
}

/// Finds the key whose name is at `span`, pushing the names leading to it onto `path`.
fn key_path_at(
    table: &dyn toml_edit::TableLike,
    span: &std::ops::Range<usize>,
    path: &mut Vec<String>,
) -> bool {
    for (name, item) in table.iter() {
        path.push(name.to_owned());
        let here = table
            .key(name)
            .and_then(|k| k.span())
            .is_some_and(|k| k.start <= span.start && span.start < k.end.max(k.start + 1));
        if here {
            return true;
        }
        if let Some(inner) = item.as_table_like()
            && key_path_at(inner, span, path)
        {
            return true;
        }
        path.pop();
    }
    false
}
