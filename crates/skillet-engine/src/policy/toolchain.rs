//! What a program outside the system directories needs to be readable to run: its own file,
//! the interpreter its `#!` line names, and its toolchain's library directories. Every path is
//! resolved (symlinks, `..`) before anything is derived from it, so `/var/run/../bin/sh` is
//! `/usr/bin/sh`, not a program installed under `/var`.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::paths::{Boundaries, lexical, real_path};

/// How many `#!` lines are followed (a shim's interpreter may itself be a script).
const MAX_INTERPRETERS: usize = 4;

/// Directories of an installation prefix that hold a toolchain's code, never its user's data.
const TOOLCHAIN_SUBDIRS: &[&str] = &["lib", "lib64", "libexec", "share", "versions"];

/// What running a program needs beyond the system directories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Toolchain {
    /// Files and directories made readable.
    pub read: Vec<PathBuf>,
    /// The program's real path, when the path it was found at will not exist in the sandbox (a
    /// symlink outside everything readable): the sandbox runs this instead.
    pub program: Option<PathBuf>,
}

/// The toolchain of `program` (looking through `env PROGRAM` and `#!` lines). `readable` are
/// the trees readable anyway (the workspace, the skill's folder): nothing under them is added.
pub fn toolchain(
    program: &str,
    args: &[String],
    bounds: &Boundaries,
    readable: &[PathBuf],
) -> Toolchain {
    let mut out = Toolchain::default();
    // When it cannot be told for sure which program `env` runs, nothing is derived: the run
    // sees the system directories only, never a path taken from one of env's options.
    let Some(named) = through_env(program, args) else {
        return out;
    };
    let Some(found) = skillet_sandbox::find_program(&named) else {
        return out;
    };
    // Only the program itself can be swapped for its real path; one named to `env` is an
    // argument, left as written.
    let direct = named.as_str() == program;
    let mut next = Some(found.clone());
    for depth in 0..MAX_INTERPRETERS {
        let Some(path) = next.take() else { break };
        let real = real_path(&path);
        let visible = add_program(&real, bounds, readable, &mut out.read);
        if depth == 0 && direct {
            out.program = run_as(&found, &real).filter(|_| visible);
        }
        next = interpreter(&real).and_then(|p| skillet_sandbox::find_program(&p));
    }
    out
}

/// The path the sandbox should run the program found at `found` (real path `real`) by, when
/// not `found` itself: a `..` may pass through a directory the sandbox does not show
/// (`/var/run/../bin/sh`), and so may a link outside the system directories. Inside them the
/// name is kept where it leads to the same file, as a link there may name a multi-call binary
/// that reads its argv[0] (`/bin/sh -> busybox`).
fn run_as(found: &Path, real: &Path) -> Option<PathBuf> {
    let plain = lexical(found);
    if found != plain {
        let same = under_system(&plain) && real_path(&plain) == real;
        Some(if same { plain } else { real.to_path_buf() })
    } else if real != plain && !under_system(real) {
        Some(real.to_path_buf())
    } else {
        None
    }
}

/// The program `env` would run, when `program` is `env` (else `program`), parsed as GNU env
/// parses its options: `-u NAME`, `-C DIR`, `-S STRING`, `-P PATH` and their long forms take an
/// argument, which is never the program. `None` when it cannot be told for sure: a program
/// looked up in another directory (`-C` with a relative path, `-P`, a `PATH=` assignment), a
/// `-S` string with quotes, escapes or variables, or an option env does not have.
fn through_env(program: &str, args: &[String]) -> Option<String> {
    if Path::new(program).file_name().is_none_or(|n| n != "env") {
        return Some(program.to_owned());
    }
    let mut words: Vec<String> = args.to_vec();
    let mut i = 0;
    let mut moved = false;
    let mut path_set = false;
    // An option's argument: the rest of the word, else the next word.
    let take = |words: &[String], i: &mut usize, rest: &str| -> Option<String> {
        if rest.is_empty() {
            *i += 1;
            words.get(*i).cloned()
        } else {
            Some(rest.to_owned())
        }
    };
    while let Some(word) = words.get(i).cloned() {
        if word == "--" {
            i += 1;
            break;
        }
        if word == "-" {
            i += 1;
            continue;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            match name {
                "ignore-environment" | "null" | "debug" | "list-signal-handling" => {}
                "block-signal" | "default-signal" | "ignore-signal" => {}
                "unset" => {
                    if value.is_none() {
                        i += 1;
                    }
                }
                "chdir" => {
                    moved = true;
                    if value.is_none() {
                        i += 1;
                    }
                }
                "split-string" => {
                    let value = match value {
                        Some(v) => v,
                        None => {
                            i += 1;
                            words.get(i)?.clone()
                        }
                    };
                    words.splice(i..=i, split_string(&value)?);
                    continue;
                }
                _ => return None,
            }
            i += 1;
            continue;
        }
        if let Some(flags) = word.strip_prefix('-').filter(|f| !f.is_empty()) {
            let mut split = None;
            for (at, flag) in flags.char_indices() {
                let rest = &flags[at + flag.len_utf8()..];
                match flag {
                    'i' | '0' | 'v' => continue,
                    'u' => {
                        take(&words, &mut i, rest)?;
                    }
                    'C' => {
                        moved = true;
                        take(&words, &mut i, rest)?;
                    }
                    // Another directory to look the program up in (BSD env).
                    'P' => return None,
                    'S' => split = Some(take(&words, &mut i, rest)?),
                    _ => return None,
                }
                break;
            }
            if let Some(value) = split {
                words.splice(i..=i, split_string(&value)?);
                continue;
            }
            i += 1;
            continue;
        }
        break;
    }
    // NAME=VALUE assignments come before the program.
    while let Some(word) = words.get(i).filter(|w| w.contains('=')) {
        path_set |= word.starts_with("PATH=");
        i += 1;
    }
    let Some(named) = words.get(i) else {
        // `env` alone prints the environment: the program is env itself.
        return Some(program.to_owned());
    };
    let looked_up_elsewhere = path_set && !named.contains('/');
    let relative_elsewhere = moved && named.contains('/') && !named.starts_with('/');
    if looked_up_elsewhere || relative_elsewhere || named.starts_with('-') {
        return None;
    }
    Some(named.clone())
}

/// The words of env's `-S STRING` when they are plain (separated by blanks); `None` when env
/// would give quotes, escapes or `${VAR}` a meaning this does not reproduce.
fn split_string(value: &str) -> Option<Vec<String>> {
    if value.contains(['\\', '\'', '"', '$', '#']) {
        return None;
    }
    Some(value.split_whitespace().map(str::to_owned).collect())
}

fn under_system(path: &Path) -> bool {
    skillet_sandbox::SYSTEM_READ_DIRS
        .iter()
        .any(|d| path.starts_with(d))
}

/// Adds what running the program at `real` needs; false when it is not made readable (a
/// credential, or skillet's own file).
fn add_program(
    real: &Path,
    bounds: &Boundaries,
    readable: &[PathBuf],
    read: &mut Vec<PathBuf>,
) -> bool {
    if under_system(real) || readable.iter().any(|r| real.starts_with(r)) {
        return true;
    }
    if bounds.is_credential(real) || bounds.is_own(real) {
        return false;
    }
    let mut push = |p: PathBuf| {
        if !read.contains(&p) {
            read.push(p);
        }
    };
    let Some(dir) = real.parent() else {
        return false;
    };
    let prefix = match dir.file_name().and_then(|n| n.to_str()) {
        Some("bin" | "sbin" | "shims") => dir.parent().unwrap_or(dir),
        _ => dir,
    };
    // The file itself and the toolchain's code directories, never the prefix: a skill chooses
    // its program, so it must not choose a tree to read (~/.cargo holds credentials.toml,
    // ~/.local every application's data, another user's home the same).
    push(real.to_path_buf());
    for sub in TOOLCHAIN_SUBDIRS {
        let candidate = real_path(&prefix.join(sub));
        if candidate.starts_with(prefix) && candidate.is_dir() && bounds.may_expose_tree(&candidate)
        {
            push(candidate);
        }
    }
    true
}

/// The interpreter a `#!` line names (through `env`), if `path` starts with one.
fn interpreter(path: &Path) -> Option<String> {
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    let first = words.next()?;
    if Path::new(first).file_name().is_some_and(|n| n == "env") {
        let rest: Vec<String> = words.map(str::to_owned).collect();
        through_env(first, &rest).filter(|p| p != first)
    } else {
        Some(first.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn exe(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn dot_dot_and_symlinks_are_resolved_before_a_prefix_is_taken() {
        let b = Boundaries::default();
        for program in [
            "/var/run/../bin/sh",
            "/tmp/../bin/sh",
            "/usr/bin/../../bin/sh",
        ] {
            let t = toolchain(program, &[], &b, &[]);
            assert!(t.read.is_empty(), "{program}: {:?}", t.read);
        }
    }

    #[test]
    fn a_tool_under_the_home_exposes_its_file_and_code_dirs_only() {
        let t = tempfile::tempdir().unwrap();
        let home = std::fs::canonicalize(t.path()).unwrap();
        std::fs::write(home.join(".cargo_marker"), "").unwrap();
        exe(&home.join(".cargo/bin/rustup"), "#!/bin/sh\n");
        std::os::unix::fs::symlink(
            home.join(".cargo/bin/rustup"),
            home.join(".cargo/bin/cargo"),
        )
        .unwrap();
        std::fs::write(home.join(".cargo/credentials.toml"), "token").unwrap();
        exe(&home.join(".local/bin/tool"), "#!/bin/sh\n");
        std::fs::create_dir_all(home.join(".local/share/skillet")).unwrap();
        std::fs::create_dir_all(home.join(".local/lib/python3")).unwrap();
        let b = Boundaries::new(Some(&home), None, &[home.join(".local/share/skillet")]);

        let cargo = home.join(".cargo/bin/cargo");
        let tc = toolchain(cargo.to_str().unwrap(), &[], &b, &[]);
        assert_eq!(tc.read, [home.join(".cargo/bin/rustup")]);
        assert_eq!(tc.program, Some(home.join(".cargo/bin/rustup")));

        let tool = home.join(".local/bin/tool");
        let tc = toolchain("env", &[tool.to_string_lossy().into_owned()], &b, &[]);
        assert_eq!(tc.read, [tool.clone(), home.join(".local/lib")]);
        assert_eq!(tc.program, None);
    }

    #[test]
    fn a_shebang_interpreter_outside_the_system_is_followed() {
        let t = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(t.path()).unwrap();
        let interp = root.join("opt/py/bin/python9");
        exe(&interp, "#!/bin/sh\n");
        let script = root.join("ws/run");
        exe(&script, &format!("#!/usr/bin/env {}\n", interp.display()));
        let b = Boundaries::new(None, Some(&root.join("ws")), &[]);
        std::fs::create_dir_all(root.join("opt/py/lib/python9")).unwrap();
        std::fs::create_dir_all(root.join("opt/py/secrets")).unwrap();
        let tc = toolchain(script.to_str().unwrap(), &[], &b, &[root.join("ws")]);
        assert_eq!(tc.read, [interp, root.join("opt/py/lib")]);
    }

    #[test]
    fn envs_options_and_their_arguments_are_never_the_program() {
        let env = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            through_env("/usr/bin/env", &args)
        };
        let sh = Some("sh".to_owned());
        for args in [
            &["-u", "/home/u/bin/deploy.sh", "sh", "-c", "x"][..],
            &["-u/home/u/bin/deploy.sh", "sh"],
            &["--unset=/x/y", "sh"],
            &["--unset", "/x/y", "sh"],
            &["-iu", "/x/y", "-0", "sh"],
            &["-C", "/x/y", "sh"],
            &["--chdir=/x/y", "sh"],
            &["-i", "--", "A=1", "B=/x/y", "sh"],
            &["--", "sh"],
            &["-", "sh"],
            &["-S", "sh -c", "x"],
            &["-Ssh -u"],
            &["--split-string=-u /x/y sh"],
            &["-v", "--ignore-signal=INT", "sh"],
        ] {
            assert_eq!(env(args), sh, "{args:?}");
        }
        for args in [
            &["-P", "/x/y", "sh"][..],
            &["-S", "'/x/y' sh"],
            &["-S", "${HOME}/bin/x"],
            &["PATH=/x/y", "sh"],
            &["-C", "/x", "bin/sh"],
            &["-u"],
            &["--frobnicate", "sh"],
            &["-X", "sh"],
        ] {
            assert_eq!(env(args), None, "{args:?}");
        }
        assert_eq!(env(&[]), Some("/usr/bin/env".to_owned()));
        assert_eq!(through_env("sh", &["-u".to_owned()]), sh);
    }
}
