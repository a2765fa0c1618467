//! The history is private to its owner: it holds session transcripts, and parameter values when
//! the user keeps them.

#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use skillet_store::SqliteStore;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_new_database_and_its_directories_are_private() {
    let t = tempfile::tempdir().unwrap();
    // A home as many distributions make it: readable by everyone.
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = t.path().join("share/skillet/skillet.db");
    let store = SqliteStore::open(&db).unwrap();
    store.check().unwrap();
    assert_eq!(mode(&t.path().join("share/skillet")), 0o700);
    assert_eq!(mode(&t.path().join("share")), 0o700);
    assert_eq!(mode(&db), 0o600);
    // The WAL files SQLite makes while the store is open take the database's mode.
    for suffix in ["-wal", "-shm"] {
        let side = t.path().join(format!("share/skillet/skillet.db{suffix}"));
        if side.exists() {
            assert_eq!(mode(&side), 0o600, "{}", side.display());
        }
    }
    // Nothing left behind readable by others either.
    for entry in std::fs::read_dir(t.path().join("share/skillet")).unwrap() {
        let entry = entry.unwrap().path();
        assert_eq!(mode(&entry) & 0o077, 0, "{}", entry.display());
    }
}

#[test]
fn an_existing_world_readable_database_is_made_private_on_open() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("skillet.db");
    drop(SqliteStore::open(&db).unwrap());
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let wal = t.path().join("skillet.db-wal");
    std::fs::write(&wal, b"").unwrap();
    std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o666)).unwrap();
    let store = SqliteStore::open(&db).unwrap();
    store.check().unwrap();
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&wal), 0o600);
    // A directory the user already has is left as it is.
    assert_eq!(mode(t.path()) & 0o700, 0o700);
}

#[test]
fn a_database_reached_through_a_link_is_not_chmodded_through_it() {
    let t = tempfile::tempdir().unwrap();
    let other = t.path().join("other.txt");
    std::fs::write(&other, "x").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&other, t.path().join("skillet.db-wal")).unwrap();
    let _ = SqliteStore::open(&t.path().join("skillet.db"));
    assert_eq!(mode(&other), 0o644);
}

/// `ready` writes: a store whose file turned read-only is not ready, and says so.
#[test]
fn a_store_that_cannot_be_written_is_not_ready() {
    use skillet_store::Store;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skillet.db");
    let store = SqliteStore::open(&path).unwrap();
    store.ready().unwrap();
    // /proc/self belongs to the effective user.
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0;
    if root {
        // Root writes whatever the mode says: `.ci/run` runs this binary again as an ordinary
        // user, where the rest is checked.
        eprintln!("SKIPPED a_store_that_cannot_be_written_is_not_ready: running as root");
        return;
    }
    drop(store);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.ready().is_err());
}
