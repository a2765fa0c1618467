//! `skillet migrate` on a file of any format: the first byte picks where the file lies
//! (`<name>.json`, `.q-skills/<name>.json`, `<folder>/SKILL.md`), the rest is its text. A
//! migration that says it is complete must produce a canonical skill that loads.

use std::path::PathBuf;

pub fn run(data: &[u8]) {
    let (place, text) = crate::input::choice(data, 3);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path: PathBuf = match place {
        0 => dir.path().join("skill.json"),
        1 => dir.path().join(".q-skills/skill.json"),
        _ => dir.path().join("my-skill/SKILL.md"),
    };
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("the skill's folder");
    std::fs::write(&path, text).expect("the skill file");
    let migration = match skillet_spec::migrate_file(&path) {
        Ok(migration) => migration,
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty(), "a refused migration says why");
            for d in &diagnostics {
                let _ = d.to_string();
            }
            return;
        }
    };
    for d in migration.unrepaired() {
        let _ = d.to_string();
    }
    let _ = migration.changes();
    if migration.complete {
        let loaded = skillet_spec::load_json(&migration.after, path.parent());
        assert!(
            loaded.is_valid() && loaded.format == skillet_spec::SkillFormat::Canonical,
            "a complete migration wrote a skill that does not load as canonical: {:?}\n{}",
            loaded.diagnostics,
            migration.after
        );
    }
}
