use std::fs;
use std::os::unix::fs::symlink;

use rustix::fs::Mode;

use super::*;

fn workspace() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let ws = fs::canonicalize(t.path()).unwrap().join("ws");
    fs::create_dir_all(ws.join(".git/objects")).unwrap();
    fs::create_dir_all(ws.join(".skillet/skills")).unwrap();
    fs::create_dir_all(ws.join("src")).unwrap();
    fs::write(ws.join(".git/config"), "[remote] url = https://token@x\n").unwrap();
    fs::write(ws.join(".env"), "KEY=1\n").unwrap();
    fs::write(ws.join("src/credentials.json"), "{}\n").unwrap();
    fs::write(ws.join(".skillet/skills/a.json"), "{}\n").unwrap();
    fs::write(ws.join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::write(ws.join("src/server.pem"), "fixture\n").unwrap();
    symlink("/etc", ws.join("etc")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        ws.join("pipe"),
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    (t, ws)
}

#[test]
fn the_copy_leaves_out_git_env_credentials_and_fifos_and_keeps_links_as_links() {
    let (_t, ws) = workspace();
    let view = View::create(&ws, Limits::default()).unwrap();
    let root = view.root();
    assert!(!root.join(".git").exists());
    assert!(!root.join(".env").exists());
    assert!(!root.join("src/credentials.json").exists());
    assert!(root.join("pipe").symlink_metadata().is_err());
    assert_eq!(
        fs::read_to_string(root.join("src/main.rs")).unwrap(),
        "fn main() {}\n"
    );
    assert!(root.join(".skillet/skills/a.json").is_file());
    assert!(
        root.join("src/server.pem").is_file(),
        "a fixture by its extension is copied"
    );
    let link = root.join("etc").symlink_metadata().unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(fs::read_link(root.join("etc")).unwrap(), Path::new("/etc"));
    assert!(view.changes().unwrap().is_empty());
    let dir = view.root();
    drop(view);
    assert!(!dir.exists(), "the copy goes with the view");
}

#[test]
fn skill_folders_and_left_out_files_are_never_changes() {
    let (_t, ws) = workspace();
    let view = View::create(&ws, Limits::default()).unwrap();
    let root = view.root();
    fs::write(root.join(".skillet/skills/b.json"), "{}\n").unwrap();
    fs::create_dir_all(root.join("sub/.claude")).unwrap();
    fs::write(root.join("sub/.claude/settings.json"), "{}\n").unwrap();
    fs::write(root.join("skillet.toml"), "[defaults]\n").unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::write(root.join(".git/config"), "x").unwrap();
    fs::write(root.join(".env.local"), "K=2\n").unwrap();
    fs::write(root.join("src/main.rs"), "fn main() { changed() }\n").unwrap();
    let changes = view.changes().unwrap();
    let paths: Vec<&Path> = changes.entries.iter().map(|c| c.path.as_path()).collect();
    assert_eq!(paths, [Path::new("src/main.rs"), Path::new("sub")]);
    assert!(
        changes.entries[0]
            .diff
            .as_deref()
            .unwrap()
            .contains("+fn main() { changed() }")
    );
}

#[test]
fn an_entry_changed_in_the_real_tree_since_the_copy_is_left_alone() {
    let (_t, ws) = workspace();
    let view = View::create(&ws, Limits::default()).unwrap();
    fs::write(view.root().join("src/main.rs"), "from the run\n").unwrap();
    fs::write(view.root().join("src/new.rs"), "new\n").unwrap();
    let changes = view.changes().unwrap();
    // The user saves the file meanwhile, and makes the new one too.
    fs::write(ws.join("src/main.rs"), "the user's edit\n").unwrap();
    fs::write(ws.join("src/new.rs"), "the user's\n").unwrap();
    let applied = view.apply(&changes).unwrap();
    assert_eq!(
        fs::read_to_string(ws.join("src/main.rs")).unwrap(),
        "the user's edit\n"
    );
    assert_eq!(
        fs::read_to_string(ws.join("src/new.rs")).unwrap(),
        "the user's\n"
    );
    let skipped: Vec<&Path> = applied.skipped.iter().map(|s| s.path.as_path()).collect();
    assert!(skipped.contains(&Path::new("src/main.rs")), "{applied:?}");
    assert!(skipped.contains(&Path::new("src/new.rs")), "{applied:?}");
}

#[test]
fn removing_a_folder_keeps_what_the_copy_never_held() {
    let (_t, ws) = workspace();
    fs::create_dir_all(ws.join("lib/.git")).unwrap();
    fs::write(ws.join("lib/a.txt"), "a").unwrap();
    let view = View::create(&ws, Limits::default()).unwrap();
    fs::remove_dir_all(view.root().join("lib")).unwrap();
    let changes = view.changes().unwrap();
    let applied = view.apply(&changes).unwrap();
    assert!(!ws.join("lib/a.txt").exists());
    assert!(
        ws.join("lib/.git").is_dir(),
        "a .git the run could not see survives"
    );
    assert_eq!(applied.skipped.len(), 1, "{applied:?}");
    assert_eq!(applied.skipped[0].path, Path::new("lib"));
}

#[test]
fn grants_into_the_real_workspace_name_the_copy() {
    let (t, ws) = workspace();
    let view = View::create(&ws, Limits::default()).unwrap();
    let root = view.root();
    let inside = ws.join("src").display().to_string();
    assert_eq!(
        view.map_grant(&inside, None),
        root.join("src").display().to_string()
    );
    let dots = ws.join("src/../out/new").display().to_string();
    assert_eq!(
        view.map_grant(&dots, None),
        root.join("out/new").display().to_string()
    );
    let alias = t.path().join("alias");
    symlink(&ws, &alias).unwrap();
    let linked = alias.join("src").display().to_string();
    assert_eq!(
        view.map_grant(&linked, None),
        root.join("src").display().to_string()
    );
    assert_eq!(
        view.map_grant("~/src", Some(&ws)),
        root.join("src").display().to_string()
    );
    assert_eq!(view.map_grant("src", None), "src");
    assert_eq!(view.map_grant("/etc", None), "/etc");
}

#[test]
fn a_workspace_past_the_bounds_is_refused_with_what_to_do() {
    let (_t, ws) = workspace();
    let few = Limits {
        max_entries: 3,
        max_bytes: u64::MAX,
    };
    let err = View::create(&ws, few).unwrap_err().to_string();
    assert!(err.contains("--no-isolate"), "{err}");
    fs::write(ws.join("big"), vec![b'x'; 4096]).unwrap();
    let small = Limits {
        max_entries: 1000,
        max_bytes: 1024,
    };
    let err = View::create(&ws, small).unwrap_err().to_string();
    assert!(
        err.contains("too large") && err.contains("--no-isolate"),
        "{err}"
    );
}

#[test]
fn a_run_that_nests_folders_without_end_is_refused_not_walked() {
    let (_t, ws) = workspace();
    let view = View::create(&ws, Limits::default()).unwrap();
    // Made by handle: the path is longer than the kernel takes at once.
    let mut dir = handle::open_root(&view.root()).unwrap();
    for _ in 0..MAX_DEPTH + 5 {
        rustix::fs::mkdirat(&dir, "d", Mode::RWXU).unwrap();
        dir = rustix::fs::openat(&dir, "d", handle::DIR, Mode::empty()).unwrap();
    }
    let err = view.changes().unwrap_err().to_string();
    assert!(
        err.contains("nested") && err.contains("--no-isolate"),
        "{err}"
    );
}

#[test]
fn a_file_left_out_does_not_come_in_under_another_name() {
    let (_t, ws) = workspace();
    fs::hard_link(ws.join(".env"), ws.join("notes.txt")).unwrap();
    fs::hard_link(ws.join(".git/config"), ws.join("src/settings.ini")).unwrap();
    fs::hard_link(ws.join("src/main.rs"), ws.join("src/same.rs")).unwrap();
    let view = View::create(&ws, Limits::default()).unwrap();
    let root = view.root();
    assert!(!root.join("notes.txt").exists());
    assert!(!root.join("src/settings.ini").exists());
    assert!(
        root.join("src/same.rs").is_file(),
        "other hard links are copied"
    );
    // Not being in the copy is no change to apply.
    assert!(view.changes().unwrap().is_empty());
}

/// The copy is the user's alone (red team 5, F5: it was 0755 in /tmp, so files private to a
/// 0700 home were readable by every user), and it keeps each file's times.
#[test]
fn the_copy_is_private_and_keeps_file_times() {
    use std::os::unix::fs::PermissionsExt;
    let (_t, ws) = workspace();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(ws.join("src/main.rs"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let view = View::create(&ws, Limits::default()).unwrap();
    let top = view.root().parent().unwrap().to_path_buf();
    assert_eq!(
        fs::metadata(&top).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert_eq!(
        fs::metadata(view.root().join("src/main.rs"))
            .unwrap()
            .modified()
            .unwrap(),
        old
    );
}

/// A view left by a process that died (its lock free) is swept by the next view made; a live
/// one (its lock held) and a young one are left alone (red team 5, F6).
#[test]
fn a_view_left_by_a_dead_process_is_swept_by_the_next() {
    let (_t, ws) = workspace();
    let live = View::create(&ws, Limits::default()).unwrap();
    let live_dir = live.root().parent().unwrap().to_path_buf();
    // A dead process's view: a directory with a free lock, old enough.
    let tmp = fs::canonicalize(std::env::temp_dir()).unwrap();
    let dead = tempfile::Builder::new()
        .prefix(VIEW_PREFIX)
        .tempdir_in(&tmp)
        .unwrap()
        .keep();
    fs::create_dir_all(dead.join("root/sub")).unwrap();
    fs::write(dead.join(VIEW_LOCK), "").unwrap();
    rustix::fs::chmod(dead.join("root/sub"), Mode::from_raw_mode(0o300)).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::open(&dead).unwrap().set_modified(old).unwrap();
    // The live one is as old: only its held lock keeps it.
    fs::File::open(&live_dir)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let next = View::create(&ws, Limits::default()).unwrap();
    assert!(!dead.exists(), "the dead view was left");
    assert!(live_dir.exists(), "a live view was swept");
    drop((live, next));
}
