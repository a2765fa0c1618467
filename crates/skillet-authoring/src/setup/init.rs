//! `skillet init`: `.skillet/skills/`, the skill format's JSON Schema as a real file, and the
//! editor mapping that points skill files at it.

use std::path::{Path, PathBuf};

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{CstInputValue, CstNode, CstRootNode};
use serde::Serialize;

use super::SetupError;
use super::handle::Dir;

/// Where `skillet init` writes the JSON Schema, relative to the workspace root.
pub const SCHEMA_FILE: &str = ".skillet/skill.schema.json";

/// The editor settings `skillet init` maps skill files in, relative to the workspace root.
pub const SETTINGS_FILE: &str = ".vscode/settings.json";

/// The `url` of the mapping: the workspace folder's schema file.
const SCHEMA_URL: &str = "./.skillet/skill.schema.json";

/// Which files the mapping covers: single-file skills and package folders' `skill.json`.
const FILE_MATCH: [&str; 2] = [".skillet/skills/*.json", "**/skill.json"];

/// What became of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileAction {
    /// It did not exist and was written.
    Created,
    /// It existed and was changed.
    Updated,
    /// It already said what it should.
    Unchanged,
    /// It could not be edited safely and was left alone (see the note).
    Skipped,
}

/// One file `skillet init` looked after.
#[derive(Debug, Clone, Serialize)]
pub struct InitedFile {
    /// The file (or directory).
    pub path: PathBuf,
    /// What was done.
    pub action: FileAction,
    /// For a skipped file: why, and what to do by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What `skillet init` did.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The workspace root.
    pub workspace: PathBuf,
    /// Every file looked after, in the order done.
    pub files: Vec<InitedFile>,
}

impl InitReport {
    /// Whether every file is as it should be (none skipped).
    pub fn complete(&self) -> bool {
        self.files.iter().all(|f| f.action != FileAction::Skipped)
    }
}

/// The `json.schemas` entry `skillet init` adds to `.vscode/settings.json`, as JSON.
pub fn settings_entry() -> serde_json::Value {
    serde_json::json!({"fileMatch": FILE_MATCH, "url": SCHEMA_URL})
}

/// The `$schema` value that names the schema file from a skill file `depth` directories below
/// `.skillet/skills/` (0 for `NAME.json`, 1 for `NAME/skill.json`).
///
/// ```
/// assert_eq!(skillet_authoring::setup::schema_ref_for(0), "../skill.schema.json");
/// assert_eq!(skillet_authoring::setup::schema_ref_for(1), "../../skill.schema.json");
/// ```
pub fn schema_ref_for(depth: usize) -> String {
    format!("{}skill.schema.json", "../".repeat(depth + 1))
}

/// The schema file's name, in a workspace's `.skillet` or the global skillet directory.
const SCHEMA_NAME: &str = "skill.schema.json";

/// Writes the skill format's JSON Schema (what `skillet schema` prints) as `skill.schema.json`
/// into `dir`, the parent of a skills directory (a workspace's `.skillet`, or the global
/// `~/.config/skillet`): the file that [`schema_ref_for`] names from a skill file. Rewritten
/// only when this skillet's schema differs; never written through a link.
pub fn write_schema(dir: &Path) -> Result<FileAction, SetupError> {
    let handle = Dir::open_root(dir)?;
    write_if_changed(&handle, SCHEMA_NAME, &schema_text(dir)?)
}

/// The schema as `skillet schema` prints it: pretty JSON and a final newline.
fn schema_text(dir: &Path) -> Result<Vec<u8>, SetupError> {
    let mut text = serde_json::to_string_pretty(&skillet_spec::skill_json_schema())
        .map_err(|e| io_error(dir.join(SCHEMA_NAME), e.into()))?;
    text.push('\n');
    Ok(text.into_bytes())
}

/// Sets the workspace at `root` (already resolved) up for writing skills. Running it again
/// changes nothing that is already right; an unreadable settings file is left untouched and
/// reported as skipped with what to add by hand.
pub fn init_workspace(root: &Path) -> Result<InitReport, SetupError> {
    let top = Dir::open_root(root)?;
    let mut files = Vec::new();
    let done = |path: &Path, action| InitedFile {
        path: path.to_path_buf(),
        action,
        note: None,
    };
    let (skillet, _) = child(&top, ".skillet")?;
    let (skills, created) = child(&skillet, "skills")?;
    files.push(done(&skills.path, created_or_unchanged(created)));

    let action = write_if_changed(&skillet, SCHEMA_NAME, &schema_text(&skillet.path)?)?;
    files.push(done(&root.join(SCHEMA_FILE), action));

    let (vscode, _) = child(&top, ".vscode")?;
    let settings = root.join(SETTINGS_FILE);
    let existing = vscode.read("settings.json")?;
    let file = match existing {
        None => {
            let text = serde_json::to_string_pretty(
                &serde_json::json!({"json.schemas": [settings_entry()]}),
            )
            .map_err(|e| io_error(settings.clone(), e.into()))?;
            vscode.write("settings.json", format!("{text}\n").as_bytes(), 0o644)?;
            done(&settings, FileAction::Created)
        }
        Some(bytes) => match merge_settings(&bytes) {
            Merge::Unchanged => done(&settings, FileAction::Unchanged),
            Merge::Changed(text) => {
                vscode.write("settings.json", text.as_bytes(), 0o644)?;
                done(&settings, FileAction::Updated)
            }
            Merge::Unreadable(why) => InitedFile {
                path: settings.clone(),
                action: FileAction::Skipped,
                note: Some(format!(
                    "{why}; it is left as it is: add this entry to its \"json.schemas\" list \
                     yourself: {}",
                    settings_entry()
                )),
            },
        },
    };
    files.push(file);
    Ok(InitReport {
        workspace: root.to_path_buf(),
        files,
    })
}

fn child(dir: &Dir, name: &str) -> Result<(Dir, bool), SetupError> {
    dir.child(name, true)?
        .ok_or_else(|| io_error(dir.path.join(name), std::io::ErrorKind::NotFound.into()))
}

fn created_or_unchanged(created: bool) -> FileAction {
    if created {
        FileAction::Created
    } else {
        FileAction::Unchanged
    }
}

fn io_error(path: PathBuf, source: std::io::Error) -> SetupError {
    SetupError::Io {
        action: "write",
        path,
        source,
    }
}

fn write_if_changed(dir: &Dir, name: &str, bytes: &[u8]) -> Result<FileAction, SetupError> {
    let action = match dir.read(name)? {
        Some(old) if old == bytes => return Ok(FileAction::Unchanged),
        Some(_) => FileAction::Updated,
        None => FileAction::Created,
    };
    dir.write(name, bytes, 0o644)?;
    Ok(action)
}

/// What merging the mapping into an existing settings file came to.
#[derive(Debug, PartialEq)]
enum Merge {
    Unchanged,
    /// The new text: the user's own keys, comments and layout kept.
    Changed(String),
    /// Why it was not touched.
    Unreadable(String),
}

/// Adds the mapping to a `.vscode/settings.json` (JSON with comments, as VS Code writes it),
/// editing its syntax tree so that every key, comment and blank the user wrote stays.
fn merge_settings(bytes: &[u8]) -> Merge {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Merge::Unreadable("it is not UTF-8 text".into());
    };
    let root = match CstRootNode::parse(text, &ParseOptions::default()) {
        Ok(root) => root,
        Err(e) => return Merge::Unreadable(format!("it cannot be parsed ({e})")),
    };
    let object = match root.value() {
        None => root.object_value_or_set(),
        Some(value) => match value.as_object() {
            Some(object) => object,
            None => return Merge::Unreadable("it is not a JSON object".into()),
        },
    };
    let entry = || {
        CstInputValue::Object(vec![
            (
                "fileMatch".to_owned(),
                CstInputValue::Array(FILE_MATCH.iter().map(|&m| m.into()).collect()),
            ),
            ("url".to_owned(), SCHEMA_URL.into()),
        ])
    };
    let Some(prop) = object.get("json.schemas") else {
        object.append("json.schemas", CstInputValue::Array(vec![entry()]));
        return Merge::Changed(root.to_string());
    };
    let Some(list) = prop.value().and_then(|v| v.as_array()) else {
        return Merge::Unreadable("its \"json.schemas\" is not a list".into());
    };
    for element in list.elements() {
        if string_at(&element, "url").as_deref() != Some(SCHEMA_URL) {
            continue;
        }
        if file_match(&element) == FILE_MATCH {
            return Merge::Unchanged;
        }
        if let Some(object) = element.as_object() {
            object.replace_with(entry());
            return Merge::Changed(root.to_string());
        }
    }
    list.append(entry());
    Merge::Changed(root.to_string())
}

fn string_at(node: &CstNode, key: &str) -> Option<String> {
    node.as_object()?
        .get(key)?
        .value()?
        .as_string_lit()?
        .decoded_value()
        .ok()
}

fn file_match(node: &CstNode) -> Vec<String> {
    let Some(list) = node
        .as_object()
        .and_then(|o| o.get("fileMatch"))
        .and_then(|p| p.value())
        .and_then(|v| v.as_array())
    else {
        return Vec::new();
    };
    list.elements()
        .iter()
        .filter_map(|e| e.as_string_lit()?.decoded_value().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn changed(merge: Merge) -> String {
        match merge {
            Merge::Changed(text) => text,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn the_users_keys_and_comments_stay() {
        let text = "{\n  // my font\n  \"editor.fontSize\": 14, /* keep */\n  \"json.schemas\": [\n    {\"fileMatch\": [\"x.json\"], \"url\": \"./x.schema.json\"}\n  ],\n}\n";
        let out = changed(merge_settings(text.as_bytes()));
        for kept in [
            "// my font",
            "\"editor.fontSize\": 14",
            "/* keep */",
            "./x.schema.json",
        ] {
            assert!(out.contains(kept), "{kept} lost: {out}");
        }
        assert!(out.contains(SCHEMA_URL), "{out}");
        assert_eq!(
            merge_settings(out.as_bytes()),
            Merge::Unchanged,
            "idempotent: {out}"
        );
    }

    #[test]
    fn an_empty_file_gets_the_mapping_and_a_stale_one_is_replaced() {
        let out = changed(merge_settings(b""));
        assert!(out.contains("**/skill.json"), "{out}");
        let stale = format!(
            "{{\"json.schemas\": [{{\"fileMatch\": [\"old\"], \"url\": \"{SCHEMA_URL}\"}}]}}"
        );
        let out = changed(merge_settings(stale.as_bytes()));
        assert!(!out.contains("\"old\""), "{out}");
        assert_eq!(merge_settings(out.as_bytes()), Merge::Unchanged, "{out}");
    }

    #[test]
    fn what_cannot_be_edited_safely_is_left_alone() {
        for text in [
            "{ \"a\": ",
            "[1, 2]",
            "{\"json.schemas\": {\"not\": \"a list\"}}",
            "\u{feff}{\"a\": 1} trailing",
        ] {
            assert!(
                matches!(merge_settings(text.as_bytes()), Merge::Unreadable(_)),
                "{text}"
            );
        }
        assert!(matches!(merge_settings(b"\xff\xfe"), Merge::Unreadable(_)));
    }
}
