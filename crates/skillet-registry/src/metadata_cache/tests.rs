//! The metadata cache never changes what a listing shows. Each test first proves the cache is
//! used (a record rewritten by hand shows through), then changes the file in one way and
//! checks the rewritten record no longer does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{MetadataCacheSettings, SETTLE};
use crate::layout::{DirKind, Scope, SkillDir};
use crate::registry::Registry;

struct World {
    _tmp: tempfile::TempDir,
    skills: PathBuf,
    settings: MetadataCacheSettings,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let skills = tmp.path().join("ws/.skillet/skills");
        std::fs::create_dir_all(&skills).expect("the skills directory");
        std::fs::create_dir_all(tmp.path().join("ws/.git")).expect("a repository");
        let settings = MetadataCacheSettings {
            dir: tmp.path().join("cache/skillet"),
            build: "test".into(),
        };
        World {
            _tmp: tmp,
            skills,
            settings,
        }
    }

    fn dirs(&self) -> Vec<SkillDir> {
        vec![SkillDir {
            path: self.skills.clone(),
            scope: Scope::Workspace,
            kind: DirKind::Skillet,
        }]
    }

    /// What a listing shows: name, validity, description, aliases, errors, per file.
    fn list(&self) -> Vec<String> {
        shown(&Registry::from_dirs_summaries(
            self.dirs(),
            Some(&self.settings),
        ))
    }

    fn cache_file(&self) -> PathBuf {
        let files: Vec<PathBuf> = std::fs::read_dir(&self.settings.dir)
            .expect("the cache directory")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    }

    /// Rewrites `from` as `to` in the cache file, as a corrupted or hostile cache would.
    fn poison(&self, from: &str, to: &str) {
        let file = self.cache_file();
        let text = std::fs::read_to_string(&file).expect("the cache file");
        assert!(text.contains(from), "{from} is not cached: {text}");
        std::fs::write(&file, text.replace(from, to)).expect("rewrite the cache");
    }

    /// Lists until the files are cached, then proves the cache answers by poisoning it.
    fn cached(&self) {
        std::thread::sleep(SETTLE + Duration::from_millis(100));
        let fresh = self.list();
        assert_eq!(self.list(), fresh);
        self.poison("about one", "POISONED");
        assert!(
            self.list().iter().any(|l| l.contains("POISONED")),
            "the cache is not used: {:?}",
            self.list()
        );
    }
}

fn shown(registry: &Registry) -> Vec<String> {
    registry
        .entries()
        .iter()
        .map(|e| {
            let s = e.summary.as_ref();
            format!(
                "{} {} valid={} {:?} {:?} {:?} {:?}",
                e.name,
                e.path.display(),
                e.is_valid(),
                s.map(|s| s.kind),
                s.and_then(|s| s.description.clone()),
                e.aliases(),
                e.diagnostics
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
            )
        })
        .collect()
}

fn skill(name: &str, description: &str) -> String {
    format!(
        r#"{{"name": "{name}", "description": "{description}", "type": "code_inline", "command": "/bin/true", "aliases": ["{name}-a"]}}"#
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write a skill");
}

#[test]
fn a_summary_listing_shows_what_a_full_discovery_shows() {
    let w = World::new();
    write(&w.skills.join("one.json"), &skill("one", "about one"));
    write(&w.skills.join("two.json"), &skill("two", "about two"));
    // Broken, an alias clash, a fallback cycle, a missing dependency, a SKILL.md, a folder.
    write(
        &w.skills.join("bad.json"),
        r#"{"name": "bad", "type": "nope"}"#,
    );
    write(
        &w.skills.join("clash.json"),
        r#"{"name": "clash", "description": "d", "type": "code_inline", "command": "x", "aliases": ["one"]}"#,
    );
    write(
        &w.skills.join("ping.json"),
        r#"{"name": "ping", "description": "d", "type": "code_inline", "command": "x", "fallback": "pong"}"#,
    );
    write(
        &w.skills.join("pong.json"),
        r#"{"name": "pong", "description": "d", "type": "code_inline", "command": "x", "fallback": "ping"}"#,
    );
    write(
        &w.skills.join("needy.json"),
        r#"{"name": "needy", "description": "d", "type": "code_inline", "command": "x", "dependencies": {"two": "^2"}}"#,
    );
    std::fs::create_dir(w.skills.join("md")).expect("a folder");
    write(
        &w.skills.join("md/SKILL.md"),
        "---\nname: md\ndescription: a markdown skill\n---\nDo it.\n",
    );
    std::fs::create_dir(w.skills.join("pkg")).expect("a folder");
    write(
        &w.skills.join("pkg/skill.json"),
        &skill("pkg", "in a folder"),
    );
    let full = shown(&Registry::from_dirs(w.dirs()));
    assert_eq!(shown(&Registry::from_dirs_summaries(w.dirs(), None)), full);
    // Cold, then warm from the cache: the same.
    std::thread::sleep(SETTLE + Duration::from_millis(100));
    assert_eq!(w.list(), full);
    assert_eq!(w.list(), full);
    assert!(
        Registry::from_dirs_summaries(w.dirs(), None)
            .entries()
            .iter()
            .all(|e| e.spec.is_none()),
        "a summary listing keeps no whole skill"
    );
}

#[test]
fn an_edit_is_seen() {
    let w = World::new();
    write(&w.skills.join("one.json"), &skill("one", "about one"));
    w.cached();
    write(
        &w.skills.join("one.json"),
        &skill("one", "about the new one"),
    );
    let listed = w.list();
    assert!(listed[0].contains("about the new one"), "{listed:?}");
}

#[test]
fn an_edit_that_keeps_size_and_modification_time_is_seen() {
    let w = World::new();
    let path = w.skills.join("one.json");
    write(&path, &skill("one", "about one"));
    let before = std::fs::metadata(&path)
        .expect("stat")
        .modified()
        .expect("mtime");
    w.cached();
    // Same length, and the modification time put back: only the change time tells.
    write(&path, &skill("one", "about 1ne"));
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(before))
        .expect("set the modification time back");
    let listed = w.list();
    assert!(listed[0].contains("about 1ne"), "{listed:?}");
}

#[test]
fn a_file_replaced_by_another_of_the_same_size_and_time_is_seen() {
    let w = World::new();
    let path = w.skills.join("one.json");
    write(&path, &skill("one", "about one"));
    let before = std::fs::metadata(&path)
        .expect("stat")
        .modified()
        .expect("mtime");
    w.cached();
    let other = w.skills.join(".other");
    write(&other, &skill("one", "about 1ne"));
    std::fs::File::options()
        .write(true)
        .open(&other)
        .and_then(|f| f.set_modified(before))
        .expect("set the modification time");
    std::fs::rename(&other, &path).expect("replace the file");
    let listed = w.list();
    assert!(listed[0].contains("about 1ne"), "{listed:?}");
}

#[test]
fn a_rename_and_a_link_repointed_are_seen() {
    let w = World::new();
    write(&w.skills.join("one.json"), &skill("one", "about one"));
    w.cached();
    // Renamed: listed at its new path, and the name a file gives is checked again.
    std::fs::rename(w.skills.join("one.json"), w.skills.join("uno.json")).expect("rename");
    let listed = w.list();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].contains("uno.json"), "{listed:?}");
    assert!(listed[0].contains("about one"), "{listed:?}");
    assert!(listed[0].contains("is named `uno`"), "{listed:?}");

    // A link: the cache follows what it points to.
    let w = World::new();
    let store = w.skills.join("store");
    std::fs::create_dir(&store).expect("a folder");
    write(&store.join("a.jsonx"), &skill("one", "about one"));
    write(&store.join("b.jsonx"), &skill("one", "about two"));
    std::os::unix::fs::symlink("store/a.jsonx", w.skills.join("one.json")).expect("a link");
    w.cached();
    std::fs::remove_file(w.skills.join("one.json")).expect("unlink");
    std::os::unix::fs::symlink("store/b.jsonx", w.skills.join("one.json")).expect("a link");
    let listed = w.list();
    assert!(listed.iter().any(|l| l.contains("about two")), "{listed:?}");
}

#[test]
fn a_cache_not_written_by_this_user_alone_or_by_this_build_is_ignored() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new();
    write(&w.skills.join("one.json"), &skill("one", "about one"));
    w.cached();
    // Writable by others: anyone could have put the poison there.
    let file = w.cache_file();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    assert!(w.list()[0].contains("about one"), "{:?}", w.list());

    // Another build's records.
    let w2 = World::new();
    write(&w2.skills.join("one.json"), &skill("one", "about one"));
    w2.cached();
    let other = World {
        settings: MetadataCacheSettings {
            build: "another".into(),
            ..w2.settings.clone()
        },
        ..w2
    };
    assert!(other.list()[0].contains("about one"), "{:?}", other.list());

    // A corrupt file is ignored and written anew.
    std::fs::write(other.cache_file(), b"{not json").expect("corrupt the cache");
    assert!(other.list()[0].contains("about one"));
    let text = std::fs::read_to_string(other.cache_file()).expect("the cache file");
    assert!(text.contains("about one"), "{text}");

    // A link in the cache's place is not followed.
    let w3 = World::new();
    write(&w3.skills.join("one.json"), &skill("one", "about one"));
    w3.cached();
    let real = w3.cache_file();
    let aside = real.with_extension("aside");
    std::fs::rename(&real, &aside).expect("move the cache aside");
    std::os::unix::fs::symlink(&aside, &real).expect("link to it");
    assert!(w3.list()[0].contains("about one"), "{:?}", w3.list());
}

#[test]
fn a_file_just_written_is_not_cached() {
    let w = World::new();
    write(&w.skills.join("one.json"), &skill("one", "about one"));
    w.list();
    // Nothing settled yet: no record to answer for the file.
    let cached = std::fs::read_dir(&w.settings.dir).is_ok_and(|rd| {
        rd.filter_map(Result::ok)
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("about one")))
    });
    assert!(!cached, "a file written a moment ago was cached");
}

/// A link switched after discovery resolved it and before the file was read (red team 4, F4):
/// the read follows the new target, so what it learnt is not kept under the old target's key,
/// and switching back shows the old target's own summary.
#[test]
fn a_link_switched_between_discovery_and_the_read_is_not_cached_under_the_old_target() {
    use crate::registry::load::{Keep, Reuse, load_all};
    let w = World::new();
    let store = w.skills.join("store");
    std::fs::create_dir(&store).expect("a folder");
    write(&store.join("a.jsonx"), &skill("one", "about one"));
    write(&store.join("b.jsonx"), &skill("one", "about two"));
    let link = w.skills.join("one.json");
    std::os::unix::fs::symlink("store/a.jsonx", &link).expect("a link");
    std::thread::sleep(SETTLE + Duration::from_millis(100));
    let dirs = w.dirs();
    let (found, _) = crate::discover::scan(&dirs[0], 100, &mut Vec::new());
    let to = |target: &str| {
        std::fs::remove_file(&link).expect("unlink");
        std::os::unix::fs::symlink(target, &link).expect("a link");
    };
    // Discovery resolved the link to a; the read finds b.
    to("store/b.jsonx");
    let cache = super::MetadataCache::open(&w.settings, &dirs);
    let loaded = load_all(
        found.iter().collect(),
        Keep::Summaries,
        Reuse::Summaries(cache),
    );
    let read = loaded[0].summary.as_ref().expect("a valid skill");
    assert_eq!(read.description.as_deref(), Some("about two"));
    to("store/a.jsonx");
    let listed = w.list();
    assert!(listed.iter().any(|l| l.contains("about one")), "{listed:?}");
    assert!(
        !listed.iter().any(|l| l.contains("about two")),
        "{listed:?}"
    );
}
