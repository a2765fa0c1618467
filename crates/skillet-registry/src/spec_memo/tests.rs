//! The memo never changes what a call sees. Each test first proves the memo answers (a
//! remembered skill altered by hand shows through), then changes the files in one way and
//! checks the next call reads them again.

use std::path::PathBuf;

use super::SpecMemo;
use crate::layout::{DirKind, Scope, SkillDir};
use crate::registry::Registry;

struct World {
    _tmp: tempfile::TempDir,
    workspace: PathBuf,
    global: PathBuf,
    memo: SpecMemo,
}

impl World {
    /// A workspace skill `one`, read once so the memo holds it.
    fn new() -> World {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let workspace = tmp.path().join("ws/.skillet/skills");
        let global = tmp.path().join("home/.config/skillet/skills");
        std::fs::create_dir_all(&workspace).expect("the skills directory");
        std::fs::create_dir_all(&global).expect("the global skills directory");
        std::fs::create_dir_all(tmp.path().join("ws/.git")).expect("a repository");
        let world = World {
            _tmp: tmp,
            workspace,
            global,
            memo: SpecMemo::default(),
        };
        world.write("one", "about one");
        assert_eq!(world.description("one").as_deref(), Some("about one"));
        world
    }

    fn dirs(&self) -> Vec<SkillDir> {
        vec![
            SkillDir {
                path: self.workspace.clone(),
                scope: Scope::Workspace,
                kind: DirKind::Skillet,
            },
            SkillDir {
                path: self.global.clone(),
                scope: Scope::Global,
                kind: DirKind::Skillet,
            },
        ]
    }

    fn write(&self, name: &str, description: &str) {
        write_in(&self.workspace, name, description);
    }

    /// The description of `name` as a call resolves it now.
    fn description(&self, name: &str) -> Option<String> {
        let registry = Registry::find_one(self.dirs(), name, Some(&self.memo));
        let entry = registry.resolve(name)?;
        entry.spec.as_ref()?.description.clone()
    }

    /// Alters what the memo holds of every file, as only a memo that answers would show.
    fn poison(&self) {
        let mut files = self.memo.files.lock().expect("the memo");
        assert!(!files.is_empty(), "nothing was remembered");
        for r in files.values_mut() {
            r.spec.description = Some("POISONED".into());
        }
    }

    /// Proves the memo answers for `one` now.
    fn answers(&self) {
        self.poison();
        assert_eq!(self.description("one").as_deref(), Some("POISONED"));
    }
}

fn write_in(dir: &std::path::Path, name: &str, description: &str) {
    let text = format!(
        r#"{{"name": "{name}", "description": "{description}", "type": "code_inline", "command": "true"}}"#
    );
    std::fs::write(dir.join(format!("{name}.json")), text).expect("a skill file");
}

#[test]
fn an_unchanged_file_is_not_parsed_again() {
    let w = World::new();
    w.answers();
}

#[test]
fn an_edit_of_the_same_size_is_read_at_the_next_call() {
    let w = World::new();
    w.answers();
    w.write("one", "about two");
    assert_eq!(w.description("one").as_deref(), Some("about two"));
}

#[test]
fn a_file_replaced_by_a_rename_is_read_again() {
    let w = World::new();
    w.answers();
    let tmp = w.workspace.join("staged");
    std::fs::create_dir(&tmp).expect("a staging folder");
    write_in(&tmp, "one", "renamed in");
    std::fs::rename(tmp.join("one.json"), w.workspace.join("one.json")).expect("rename");
    assert_eq!(w.description("one").as_deref(), Some("renamed in"));
}

#[test]
fn a_removed_file_is_gone_at_the_next_call() {
    let w = World::new();
    w.answers();
    std::fs::remove_file(w.workspace.join("one.json")).expect("remove");
    assert_eq!(w.description("one"), None);
}

#[test]
fn precedence_is_decided_afresh_at_every_call() {
    let w = World::new();
    // A global skill of the same name is shadowed by the workspace's, remembered or not.
    write_in(&w.global, "one", "global one");
    w.answers();
    std::fs::remove_file(w.workspace.join("one.json")).expect("remove");
    assert_eq!(w.description("one").as_deref(), Some("global one"));
}

#[test]
fn an_edit_that_leaves_every_time_as_it_was_is_read_again() {
    let w = World::new();
    w.answers();
    // Same size, and the modification time put back: only the text tells.
    let file = w.workspace.join("one.json");
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    w.write("one", "about six");
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    assert_eq!(w.description("one").as_deref(), Some("about six"));
}

#[test]
fn a_broken_file_is_reported_and_its_last_parse_not_used() {
    let w = World::new();
    w.answers();
    std::fs::write(w.workspace.join("one.json"), "{ not json").unwrap();
    let registry = Registry::find_one(w.dirs(), "one", Some(&w.memo));
    let entry = registry.resolve("one");
    assert!(entry.is_none_or(|e| e.spec.is_none()), "{entry:?}");
}
