//! Fixtures shared by the manifest and index tests: files written into a temporary folder,
//! skills, and short ways to parse and query an index.

#![allow(dead_code)]

use std::fs;
use std::path::Path;

use skillet_pkg::PackageName;
use skillet_pkg::index::{Index, IndexOrigin};

pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    fs::write(path, text).expect("write");
}

pub fn skill_md(root: &Path, folder: &str, name: &str) {
    let file = if folder.is_empty() {
        "SKILL.md".to_string()
    } else {
        format!("{folder}/SKILL.md")
    };
    write(
        root,
        &file,
        &format!("---\nname: {name}\ndescription: The {name} skill\n---\nDo the {name} thing.\n"),
    );
}

pub fn skill_json(root: &Path, rel: &str, name: &str) {
    write(
        root,
        rel,
        &format!(
            r#"{{"name": "{name}", "description": "d", "type": "code_inline", "command": "true"}}"#
        ),
    );
}

pub fn name(s: &str) -> PackageName {
    PackageName::new(s).expect("a valid name")
}

pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
pub const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

pub fn git_origin() -> IndexOrigin {
    IndexOrigin::Git {
        url: "https://example.test/team/skills.git".into(),
        commit: COMMIT.into(),
    }
}

pub fn parse(json: &str, origin: &IndexOrigin) -> Index {
    Index::parse(json.as_bytes(), origin).expect("an index")
}

pub fn names(index: &Index) -> Vec<String> {
    index.packages.iter().map(|e| e.name.to_string()).collect()
}

pub fn warned(index: &Index, entry: &str, words: &str) -> bool {
    index
        .warnings
        .iter()
        .any(|w| w.entry == entry && w.message.contains(words))
}
