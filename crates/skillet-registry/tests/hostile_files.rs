//! A workspace holding hostile files (issue 18): discovery still lists every good skill, marks
//! each hostile file broken with a diagnostic that says why, never blocks on a FIFO or device,
//! and never reads more than its limits allow.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use skillet_registry::{Config, Environment, MAX_SKILL_FILES, Registry, Scope, skill_manifest};

struct World {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    ws: PathBuf,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let ws = tmp.path().join("ws");
        fs::create_dir_all(ws.join(".git")).unwrap();
        fs::create_dir_all(ws.join(".skillet/skills")).unwrap();
        fs::create_dir_all(&home).unwrap();
        World {
            _tmp: tmp,
            home,
            ws,
        }
    }

    fn skills(&self) -> PathBuf {
        self.ws.join(".skillet/skills")
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.skills().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    /// Discovers on another thread, failing if that takes more than 30 seconds (a FIFO that
    /// blocked would otherwise hang the run).
    fn registry(&self) -> Registry {
        let env = Environment {
            cwd: self.ws.clone(),
            home: Some(self.home.clone()),
            config_home: Some(self.home.join(".config")),
            data_home: None,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let registry = Registry::discover(&env, &Config::load(&env).unwrap());
            let _ = tx.send(registry);
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("discovery did not finish within 30 s")
    }
}

fn skill(name: &str, extra: &str) -> String {
    format!(
        r#"{{"name": "{name}", "description": "d", "type": "prompt_inline", "prompt_template": "hi"{extra}}}"#
    )
}

fn fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

fn error_text(r: &Registry, file_name: &str) -> String {
    let entry = r
        .entries()
        .iter()
        .find(|e| e.path.to_string_lossy().ends_with(&format!("/{file_name}")))
        .unwrap_or_else(|| panic!("{file_name} is not listed"));
    assert!(!entry.is_valid(), "{file_name} should be broken");
    entry
        .errors()
        .map(|d| d.message.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn hostile_files_are_listed_as_broken_and_the_good_skill_still_loads() {
    let w = World::new();
    w.write("good.json", &skill("good", ""));
    w.write(
        "zz-good/SKILL.md",
        "---\nname: zz-good\ndescription: d\n---\nBody\n",
    );
    // A FIFO named like a skill file, and one as a package's manifest.
    fifo(&w.skills().join("fifo.json"));
    fs::create_dir_all(w.skills().join("pipe")).unwrap();
    fifo(&w.skills().join("pipe/skill.json"));
    // Links to devices that never end or never answer.
    std::os::unix::fs::symlink("/dev/zero", w.skills().join("zero.json")).unwrap();
    std::os::unix::fs::symlink("/dev/stdin", w.skills().join("stdin.json")).unwrap();
    // A directory where a manifest should be.
    fs::create_dir_all(w.skills().join("dir/skill.json")).unwrap();
    // A 2 MB file, a 100,000-character description, nesting ten thousand deep.
    w.write(
        "big.json",
        &skill(
            "big",
            &format!(r#", "metadata": {{"x": "{}"}}"#, "x".repeat(2_000_000)),
        ),
    );
    w.write(
        "long.json",
        &format!(
            r#"{{"name": "long", "description": "{}", "type": "prompt_inline", "prompt_template": "hi"}}"#,
            "d".repeat(100_000)
        ),
    );
    w.write("deep.json", &"[".repeat(10_000));
    // A link to itself.
    std::os::unix::fs::symlink("loop.json", w.skills().join("loop.json")).unwrap();
    // A file nobody may read (root still can).
    let locked = w.write("locked.json", &skill("locked", ""));
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();

    let r = w.registry();
    let good = r.resolve("good").expect("the good skill is listed");
    assert!(good.is_valid(), "{:?}", good.diagnostics);
    assert!(r.resolve("zz-good").unwrap().is_valid());

    assert!(error_text(&r, "fifo.json").contains("FIFO"));
    assert!(error_text(&r, "pipe/skill.json").contains("FIFO"));
    // Both links lead out of the workspace, and are refused unread for that.
    assert!(error_text(&r, "zero.json").contains("leaves"));
    assert!(error_text(&r, "stdin.json").contains("leaves"));
    assert!(error_text(&r, "big.json").contains("the limit for a skill file is 1048576 bytes"));
    assert!(
        error_text(&r, "long.json")
            .contains("`description` is 100000 characters long; the limit is 4096")
    );
    assert!(error_text(&r, "deep.json").contains("nested 10000 levels deep; the limit is 64"));
    assert!(error_text(&r, "loop.json").contains("symbolic links"));
    if fs::read(&locked).is_ok() {
        assert!(r.resolve("locked").unwrap().is_valid(), "readable here");
    } else {
        assert!(error_text(&r, "locked.json").contains("ermission denied"));
    }
    // The directory named skill.json is no skill; the folder holding it says so.
    assert!(
        r.warnings()
            .iter()
            .any(|d| d.message.ends_with("/dir holds no skill")),
        "{:?}",
        r.warnings()
    );
}

#[test]
fn a_global_skill_linked_to_a_device_is_refused_without_blocking() {
    let w = World::new();
    let global = w.home.join(".config/skillet/skills");
    fs::create_dir_all(&global).unwrap();
    fs::write(global.join("mine.json"), skill("mine", "")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", global.join("zero.json")).unwrap();
    fifo(&global.join("fifo.json"));
    let r = w.registry();
    assert!(r.resolve("mine").unwrap().is_valid());
    assert!(error_text(&r, "zero.json").contains("character device"));
    assert!(error_text(&r, "fifo.json").contains("FIFO"));
}

#[test]
fn a_workspace_past_the_file_limit_is_reported_once_and_cannot_hide_global_skills() {
    let w = World::new();
    // `{}` files load fastest: each is broken at once (no name), which is all this needs.
    for i in 0..MAX_SKILL_FILES + 5 {
        fs::write(w.skills().join(format!("s{i:05}.json")), "{}").unwrap();
    }
    let global = w.home.join(".config/skillet/skills");
    fs::create_dir_all(&global).unwrap();
    fs::write(global.join("mine.json"), skill("mine", "")).unwrap();

    let r = w.registry();
    let workspace = r
        .entries()
        .iter()
        .filter(|e| e.scope == Scope::Workspace)
        .count();
    assert_eq!(workspace, MAX_SKILL_FILES);
    // The first files by name are read; the last five are not.
    assert!(r.entries().iter().all(|e| !e.path.ends_with("s10004.json")));
    assert!(r.entries().iter().any(|e| e.path.ends_with("s09999.json")));
    let over: Vec<_> = r
        .warnings()
        .iter()
        .filter(|d| d.message.contains("skill files, the limit"))
        .collect();
    assert_eq!(over.len(), 1, "{:?}", r.warnings());
    assert!(
        over[0].message.starts_with(
            "the workspace scope has more than 10000 skill files, the limit: 5 more entries of "
        ),
        "{}",
        over[0].message
    );
    assert!(r.resolve("mine").unwrap().is_valid());
}

#[test]
fn a_folder_is_a_skill_by_the_same_rule_everywhere() {
    let w = World::new();
    let pkg = w.write("pkg/skill.json", &skill("pkg", ""));
    let named = w.write("named/named.json", &skill("named", ""));
    let md = w.write("md/SKILL.md", "---\nname: md\ndescription: d\n---\nBody\n");
    fs::create_dir_all(w.skills().join("empty")).unwrap();
    assert_eq!(skill_manifest(&w.skills().join("pkg")), Some(pkg.clone()));
    assert_eq!(
        skill_manifest(&w.skills().join("named")),
        Some(named.clone())
    );
    assert_eq!(skill_manifest(&w.skills().join("md")), Some(md.clone()));
    assert_eq!(skill_manifest(&w.skills().join("empty")), None);
    // The skills directory itself holds no manifest: it is a directory of skills.
    assert_eq!(skill_manifest(&w.skills()), None);
    let r = w.registry();
    for (name, path) in [("pkg", pkg), ("named", named), ("md", md)] {
        assert_eq!(r.resolve(name).unwrap().path, path);
    }
}

#[test]
fn thousands_of_stray_folders_give_a_few_warnings_and_a_count() {
    let w = World::new();
    w.write("good.json", &skill("good", ""));
    for i in 0..1_000 {
        fs::create_dir(w.skills().join(format!("stray{i:04}"))).unwrap();
    }
    let r = w.registry();
    assert!(r.resolve("good").unwrap().is_valid());
    let strays: Vec<&str> = r
        .warnings()
        .iter()
        .map(|d| d.message.as_str())
        .filter(|m| m.contains("holds no skill") || m.contains("are not skills"))
        .collect();
    assert_eq!(strays.len(), 21, "{strays:?}");
    assert!(
        strays[20].starts_with("980 more entries of "),
        "{}",
        strays[20]
    );
}
