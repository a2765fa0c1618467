//! The grants' resolution against real symlinks, `..` and links planted from outside.

use super::*;

struct Fixture {
    _t: tempfile::TempDir,
    root: PathBuf,
    bounds: Boundaries,
}

fn fixture() -> Fixture {
    let t = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(t.path()).unwrap();
    let (home, ws) = (root.join("home"), root.join("home/ws"));
    std::fs::create_dir_all(ws.join("real")).unwrap();
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::write(home.join(".ssh/id_rsa"), "key").unwrap();
    let bounds = Boundaries::new(Some(&home), Some(&ws), &[]);
    Fixture {
        _t: t,
        root,
        bounds,
    }
}

fn link(target: &str, at: &Path) {
    std::os::unix::fs::symlink(target, at).unwrap();
}

#[test]
fn symlinks_leaving_the_workspace_are_refused() {
    let f = fixture();
    let ws = f.root.join("home/ws");
    link("..", &ws.join("up"));
    link(f.root.join("home").to_str().unwrap(), &ws.join("abs"));
    link("up", &ws.join("chain"));
    link("real/../../..", &ws.join("deep"));
    for typed in ["up", "./abs", "chain", "deep", "real/../..", "../ws/../.."] {
        let mut w = Vec::new();
        let e = resolve(typed, Access::Write, &f.bounds, None, &mut w).unwrap_err();
        assert!(
            e.to_string().contains("outside the workspace"),
            "{typed}: {e}"
        );
    }
    // The same symlink typed as an absolute path inside the workspace is refused too.
    let mut w = Vec::new();
    let abs = ws.join("up").to_string_lossy().into_owned();
    assert!(resolve(&abs, Access::Write, &f.bounds, None, &mut w).is_err());
    let e = resolve("~/ws/abs", Access::Read, &f.bounds, None, &mut w).unwrap_err();
    assert!(e.to_string().contains("outside the workspace"), "{e}");
}

#[test]
fn grants_inside_are_resolved_and_shown() {
    let f = fixture();
    let ws = f.root.join("home/ws");
    link("real", &ws.join("out"));
    let mut w = Vec::new();
    let r = resolve("out", Access::Write, &f.bounds, None, &mut w)
        .unwrap()
        .unwrap();
    assert_eq!(r.path, ws.join("real"));
    assert!(!r.exact);
    assert!(w[0].contains("resolved to"), "{w:?}");
    let r = resolve("./real/", Access::Write, &f.bounds, None, &mut Vec::new())
        .unwrap()
        .unwrap();
    assert!(r.exact);
    assert_eq!(
        resolve("missing", Access::Write, &f.bounds, None, &mut w).unwrap(),
        None
    );
    // An absolute path outside the workspace is the user's to give.
    let r = resolve("~/", Access::Read, &f.bounds, None, &mut w)
        .unwrap()
        .unwrap();
    assert_eq!(r.path, f.root.join("home"));
}

#[test]
fn relative_grants_start_at_the_run_directory_and_stay_in_the_workspace() {
    let f = fixture();
    let ws = f.root.join("home/ws");
    let sub = ws.join("real");
    std::fs::create_dir_all(sub.join("out")).unwrap();
    std::fs::create_dir_all(ws.join("top")).unwrap();
    link("../..", &sub.join("up"));
    link(f.root.join("home").to_str().unwrap(), &sub.join("abs"));
    let at = |typed: &str| resolve(typed, Access::Write, &f.bounds, Some(&sub), &mut Vec::new());
    assert_eq!(at("out").unwrap().unwrap().path, sub.join("out"));
    assert_eq!(at("./out/").unwrap().unwrap().path, sub.join("out"));
    assert_eq!(at("../top").unwrap().unwrap().path, ws.join("top"));
    assert_eq!(at(".").unwrap().unwrap().path, sub);
    for escape in [
        "up",
        "up/ws",
        "abs",
        "../..",
        "../../ws/real/../..",
        "out/../../..",
    ] {
        let e = at(escape).unwrap_err();
        assert!(
            e.to_string().contains("outside the workspace"),
            "{escape}: {e}"
        );
    }
    // A base outside the workspace is no base: relative grants start at the root.
    let r = resolve(
        "top",
        Access::Read,
        &f.bounds,
        Some(&f.root),
        &mut Vec::new(),
    );
    assert_eq!(r.unwrap().unwrap().path, ws.join("top"));
}

/// A link outside the workspace to a place inside it (`/tmp/out -> $WS/.git/hooks`, planted
/// by an earlier run with a grant there) is not the user naming that place: not exact, so
/// the refusals of protected and credential paths by another name apply.
#[test]
fn a_link_from_outside_into_the_workspace_is_not_the_path_typed() {
    let f = fixture();
    let ws = f.root.join("home/ws");
    std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
    std::fs::write(ws.join(".env"), "A=1").unwrap();
    let outside = f.root.join("shared");
    std::fs::create_dir_all(&outside).unwrap();
    link(
        ws.join(".git/hooks").to_str().unwrap(),
        &outside.join("hooks"),
    );
    link(ws.join(".git").to_str().unwrap(), &outside.join("git"));
    link(ws.join(".env").to_str().unwrap(), &outside.join("env"));
    link("../home/ws/.git", &outside.join("relgit"));
    for (typed, real) in [
        (outside.join("hooks"), ws.join(".git/hooks")),
        (outside.join("git/hooks"), ws.join(".git/hooks")),
        (outside.join("relgit"), ws.join(".git")),
    ] {
        let mut w = Vec::new();
        let r = resolve(
            typed.to_str().unwrap(),
            Access::Write,
            &f.bounds,
            None,
            &mut w,
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.path, real);
        assert!(!r.exact, "{}: {r:?}", typed.display());
        assert!(w.iter().any(|w| w.contains("resolved to")), "{w:?}");
    }
    let typed = outside.join("env");
    let e = resolve(
        typed.to_str().unwrap(),
        Access::Read,
        &f.bounds,
        None,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("credentials"), "{e}");
    // A link to the workspace itself is only its other spelling: what follows is typed.
    link(ws.to_str().unwrap(), &outside.join("ws"));
    let typed = outside.join("ws/.git");
    let r = resolve(
        typed.to_str().unwrap(),
        Access::Write,
        &f.bounds,
        None,
        &mut Vec::new(),
    )
    .unwrap()
    .unwrap();
    assert!(r.exact, "{r:?}");
}

#[test]
fn an_absolute_grant_that_resolves_to_credentials_is_refused() {
    let f = fixture();
    link(
        f.root.join("home/.ssh").to_str().unwrap(),
        &f.root.join("innocent"),
    );
    let typed = f.root.join("innocent").to_string_lossy().into_owned();
    let e = resolve(&typed, Access::Read, &f.bounds, None, &mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("credentials"), "{e}");
    assert!(resolve("~/.ssh", Access::Read, &f.bounds, None, &mut Vec::new()).is_ok());
}
