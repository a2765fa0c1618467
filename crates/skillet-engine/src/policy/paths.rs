//! The paths a run may touch: the toolchain of the program it runs, and the user's grants.

use std::path::{Path, PathBuf};

/// Installation prefixes, outside the system directories, of the program a skill runs (looking
/// through `env PROGRAM`): `/home/u/.pyenv/shims/python3` gives `/home/u/.pyenv`.
pub fn toolchain_dirs(program: &str, args: &[String]) -> Vec<PathBuf> {
    let is_env = Path::new(program).file_name().is_some_and(|n| n == "env");
    let program = if is_env {
        args.iter()
            .find(|a| !a.starts_with('-') && !a.contains('='))
            .map_or(program, String::as_str)
    } else {
        program
    };
    let Some(found) = skillet_sandbox::find_program(program) else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    for path in [Some(found.clone()), std::fs::canonicalize(&found).ok()]
        .into_iter()
        .flatten()
    {
        if skillet_sandbox::SYSTEM_READ_DIRS
            .iter()
            .any(|d| path.starts_with(d))
        {
            continue;
        }
        let Some(dir) = path.parent() else { continue };
        let prefix = match dir.file_name().and_then(|n| n.to_str()) {
            Some("bin" | "sbin" | "shims") => dir.parent().unwrap_or(dir),
            _ => dir,
        };
        if !dirs.iter().any(|d: &PathBuf| d == prefix) {
            dirs.push(prefix.to_path_buf());
        }
    }
    dirs
}

/// `~/x` under the home directory, a relative path under `base`, an absolute path as is.
pub(super) fn resolve_grant_path(p: &str, base: &Path, home: Option<&Path>) -> PathBuf {
    match (p.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => base.join(p),
    }
}
