//! The files a program needs to be executed, for `allow_spawn: false`: the program, its `#!`
//! interpreter, and the ELF loader (`PT_INTERP`) of each. Landlock then lets only these be
//! executed. That alone does not stop a second program: the loader stays executable, and run by
//! hand (`ld-linux-x86-64.so.2 /bin/sh`) it maps its target with `mmap`, which Landlock does not
//! check. The seccomp filter is what refuses every exec after the program's own (see
//! syscall_filter.rs); this rule is the second layer, and the only one where seccomp is
//! unavailable.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::find_program;

/// Executables `program` needs, as canonical paths (what Landlock rules attach to).
pub(crate) fn executables(program: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut queue: Vec<PathBuf> = find_program(program).into_iter().collect();
    while let Some(path) = queue.pop() {
        let Ok(real) = std::fs::canonicalize(&path) else {
            continue;
        };
        if out.contains(&real) || out.len() > 8 {
            continue;
        }
        let mut head = [0u8; 256];
        let n = std::fs::File::open(&real)
            .and_then(|mut f| f.read(&mut head))
            .unwrap_or(0);
        let head = &head[..n];
        if let Some(interp) = shebang(head) {
            queue.push(interp);
        } else if let Some(loader) = elf_interpreter(&real) {
            queue.push(loader);
        }
        out.push(real);
    }
    out
}

/// For a script whose first line is `#!/usr/bin/env NAME` (nothing more), the interpreter env
/// would run and the arguments to run the script with it: `NAME`'s path, then the script's,
/// then `args`. With `allow_spawn: false` only one exec is allowed, and env's own exec of the
/// interpreter would be a second; executing the interpreter directly is what env would have
/// done. `None` for anything else, which runs as it is.
pub(crate) fn through_env(
    program: &std::ffi::OsStr,
    args: &[std::ffi::OsString],
) -> Option<(std::ffi::OsString, Vec<std::ffi::OsString>)> {
    let script = find_program(&program.to_string_lossy())?;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(&script)
        .and_then(|mut f| f.read(&mut head))
        .ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&b| b == b'\n')?];
    let mut words = std::str::from_utf8(line).ok()?.split_whitespace();
    let (env, name) = (words.next()?, words.next()?);
    let plain = |w: &str| !w.starts_with('-') && !w.contains('=');
    if Path::new(env).file_name()? != "env" || !plain(name) || words.next().is_some() {
        return None;
    }
    let interpreter = find_program(name)?;
    let mut argv = vec![script.into_os_string()];
    argv.extend_from_slice(args);
    Some((interpreter.into_os_string(), argv))
}

/// The interpreter of a `#!` script, looking through `/usr/bin/env NAME`.
fn shebang(head: &[u8]) -> Option<PathBuf> {
    let line = head.strip_prefix(b"#!")?;
    let line =
        std::str::from_utf8(&line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())])
            .ok()?;
    let mut words = line.split_whitespace();
    let interp = words.next()?;
    if Path::new(interp).file_name().is_some_and(|n| n == "env") {
        return words.find(|w| !w.starts_with('-')).and_then(find_program);
    }
    Some(PathBuf::from(interp))
}

/// The `PT_INTERP` path of a 64-bit little-endian ELF file.
fn elf_interpreter(path: &Path) -> Option<PathBuf> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.get(..4)? != b"\x7fELF" || bytes.get(4)? != &2 || bytes.get(5)? != &1 {
        return None;
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(bytes.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(bytes.get(o..o + 4)?.try_into().ok()?));
    let u64_at =
        |o: usize| Some(u64::from_le_bytes(bytes.get(o..o + 8)?.try_into().ok()?) as usize);
    let (phoff, phentsize, phnum) = (
        u64_at(0x20)?,
        usize::from(u16_at(0x36)?),
        usize::from(u16_at(0x38)?),
    );
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if u32_at(ph)? == 3 {
            let (offset, size) = (u64_at(ph + 8)?, u64_at(ph + 32)?);
            let raw = bytes.get(offset..offset + size)?;
            let name = std::str::from_utf8(raw).ok()?.trim_end_matches('\0');
            return Some(PathBuf::from(name));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_binary_needs_its_loader() {
        let exes = executables("/bin/ls");
        assert!(exes.len() >= 2, "{exes:?}");
        assert!(
            exes.iter()
                .any(|p| p.to_string_lossy().contains("ld-linux")),
            "{exes:?}"
        );
    }

    #[test]
    fn a_script_through_env_runs_its_interpreter_directly() {
        let dir = std::env::temp_dir().join(format!("skillet-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
            p
        };
        let plain = write("plain", "#!/usr/bin/env sh\necho hi\n");
        let (interp, args) = through_env(plain.as_os_str(), &["a".into(), "b".into()]).unwrap();
        assert!(Path::new(&interp).ends_with("sh"), "{interp:?}");
        assert_eq!(args, [plain.as_os_str(), "a".as_ref(), "b".as_ref()]);
        // Options, assignments, more words, or no env: left alone.
        for text in [
            "#!/usr/bin/env -S sh -e\n",
            "#!/usr/bin/env X=1 sh\n",
            "#!/usr/bin/env sh -e\n",
            "#!/bin/sh\n",
            "echo no shebang\n",
        ] {
            let p = write("other", text);
            assert!(through_env(p.as_os_str(), &[]).is_none(), "{text}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_script_needs_its_interpreter() {
        let dir = std::env::temp_dir().join(format!("skillet-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("s");
        std::fs::write(&script, "#!/usr/bin/env sh\necho hi\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let exes = executables(script.to_str().unwrap());
        assert!(
            exes.iter()
                .any(|p| p.ends_with("dash") || p.ends_with("sh") || p.ends_with("bash")),
            "{exes:?}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
