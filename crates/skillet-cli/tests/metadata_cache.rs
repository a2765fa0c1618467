//! `skillet list` answers from the metadata cache for unchanged files
//! (`$XDG_CACHE_HOME/skillet/`), and the cache never changes what a user sees: an edit, an edit
//! that keeps the size and modification time, a file replaced by another, a rename are all
//! listed as they are; a cache file others could write is ignored; a skill granted the cache's
//! parent directory cannot write into it.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use common::World;
use common::attack::{ran, s, sh};
use serde_json::{Value, json};

/// Files changed in the last two seconds are not cached (a second write in the same clock tick
/// may not show in their times); tests wait this long before a listing that should fill it.
const SETTLE: Duration = Duration::from_millis(2_200);

fn skill(w: &World, name: &str, description: &str) -> PathBuf {
    w.skill(
        name,
        json!({"name": name, "description": description, "type": "code_inline",
               "command": "/bin/true", "aliases": [format!("{name}-a")]}),
    )
}

fn list_json(w: &World) -> Value {
    let (code, out, err) = w.run(&["list", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn description(listed: &Value, name: &str) -> String {
    listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .map(|r| r["description"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("{name} is not listed: {listed}"))
}

fn cache_files(w: &World) -> Vec<PathBuf> {
    let dir = w.home.join(".cache/skillet");
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().ends_with(".json"))
                .collect()
        })
        .unwrap_or_default()
}

/// A workspace of a few skills listed once they are old enough to be cached.
fn cached_world() -> World {
    let w = World::new();
    for i in 0..5 {
        skill(&w, &format!("s{i}"), &format!("about s{i}"));
    }
    std::thread::sleep(SETTLE);
    let cold = list_json(&w);
    assert_eq!(cache_files(&w).len(), 1, "no cache was written");
    assert_eq!(
        list_json(&w),
        cold,
        "a warm listing differs from a cold one"
    );
    w
}

#[test]
fn a_warm_listing_is_the_cold_one_and_the_cache_is_private() {
    let w = cached_world();
    let (code, table, _) = w.run(&["list"]);
    assert_eq!(code, 0);
    let (_, names, _) = w.run(&["list", "--names"]);
    std::fs::remove_dir_all(w.home.join(".cache")).unwrap();
    assert_eq!(w.run(&["list"]).1, table);
    assert_eq!(w.run(&["list", "--names"]).1, names);
    assert!(names.contains("s3-a"), "{names}");
    let file = &cache_files(&w)[0];
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(file), 0o600);
    assert_eq!(mode(&w.home.join(".cache/skillet")), 0o700);
}

#[test]
fn every_kind_of_change_is_listed() {
    let w = cached_world();
    // An edit that keeps the size and puts the modification time back.
    let path = w.path(".skillet/skills/s1.json");
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("about s1", "ABOUT S1")).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(description(&list_json(&w), "s1"), "ABOUT S1");

    // A file replaced by another of the same size and time.
    let path = w.path(".skillet/skills/s2.json");
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let other = w.write(
        ".skillet/skills/.next",
        &text.replace("about s2", "ABOUT S2"),
    );
    std::fs::File::options()
        .write(true)
        .open(&other)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    std::fs::rename(&other, &path).unwrap();
    assert_eq!(description(&list_json(&w), "s2"), "ABOUT S2");

    // A rename: the new path, and the warning that the name no longer matches the file.
    std::fs::rename(
        w.path(".skillet/skills/s3.json"),
        w.path(".skillet/skills/three.json"),
    )
    .unwrap();
    let listed = list_json(&w);
    let s3 = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "s3")
        .unwrap();
    assert!(s3["path"].as_str().unwrap().ends_with("three.json"), "{s3}");
    assert!(s3["warnings"].to_string().contains("named `three`"), "{s3}");

    // A plain edit, and a file broken since it was cached.
    skill(&w, "s0", "about s0, edited");
    w.write(".skillet/skills/s4.json", "{\"name\": \"s4\",");
    let listed = list_json(&w);
    assert_eq!(description(&listed, "s0"), "about s0, edited");
    let s4 = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "s4")
        .unwrap();
    assert_eq!(s4["valid"], false, "{s4}");
}

#[test]
fn a_cache_file_others_can_write_is_not_believed() {
    let w = cached_world();
    let file = &cache_files(&w)[0];
    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(file, text.replace("about s1", "POISONED")).unwrap();
    // Proof that the cache answers for unchanged files...
    assert_eq!(description(&list_json(&w), "s1"), "POISONED");
    // ...and is not believed once others could have written it.
    std::fs::write(file, text.replace("about s1", "POISONED")).unwrap();
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(description(&list_json(&w), "s1"), "about s1");
}

#[test]
fn a_write_grant_over_the_cache_home_cannot_reach_skillets_cache() {
    let w = cached_world();
    let before = std::fs::read(&cache_files(&w)[0]).unwrap();
    let cache_home = s(&w.home.join(".cache"));
    std::fs::create_dir_all(w.home.join(".cache/app")).unwrap();
    sh(
        &w,
        "poison",
        &format!(
            "for f in {cache_home}/skillet/*.json; do echo '{{}}' > \"$f\"; done; \
             echo x > {cache_home}/skillet/new.json; echo ok > {cache_home}/app/other; echo RAN"
        ),
    );
    let (_, r) = w.run_json(&["poison", "--allow-write", "~/.cache"]);
    ran(&r);
    assert!(w.home.join(".cache/app/other").exists(), "{r}");
    assert_eq!(std::fs::read(&cache_files(&w)[0]).unwrap(), before, "{r}");
    assert!(!w.home.join(".cache/skillet/new.json").exists(), "{r}");
}
