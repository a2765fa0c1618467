//! A confined run cannot leave a set-user-ID or set-group-ID file in a write grant (file
//! capabilities and owners: capabilities.rs). `nosuid` on the grant's mount only stops such a
//! file from working inside the sandbox; on the host it would be a program any local user could run with the rights of
//! whoever ran the skill (root, or the user). Every system call that can set the bits is tried,
//! with namespaces and without (Landlock and seccomp alone), and CI runs the binary as root and
//! as an unprivileged user. Each test checks what the host sees afterwards.
//!
//! The calls are made by number (x86_64, the one architecture the filter admits) so that no
//! libc wrapper chooses a different call than the one named.

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]
#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::in_grant::{EPERM, assert_results, granted, modes, perl};
use common::text;

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const ENOSYS: &str = "38";

/// Every file and directory under `dir` (links not followed) whose mode has `bits`.
fn with_bits(dir: &Path, bits: u32) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.mode() & bits != 0 {
                out.push((path.clone(), format!("{:o}", meta.mode())));
            }
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

/// Perl lines that try to make `target` (a fresh name per call) with `mode`, by every call that
/// takes a mode: (name, line). `touch` names are made first, ordinarily, for the chmods.
fn setting_calls(tag: &str, mode: u64) -> Vec<(String, String)> {
    let f = |call: &str| format!("{call}-{tag}");
    let regular = 0o100_000 | mode;
    vec![
        // chmod, fchmod, fchmodat, fchmodat2 on a file made without the bits.
        (
            f("chmod"),
            format!(
                "touch '{0}'; attempt '{0}', sc(90, '{0}', {mode})",
                f("chmod")
            ),
        ),
        (
            f("fchmod"),
            format!(
                "touch '{0}'; open(my $h{tag}, '<', '{0}') or die; \
                 attempt '{0}', sc(91, fileno($h{tag}), {mode})",
                f("fchmod")
            ),
        ),
        (
            f("fchmodat"),
            format!(
                "touch '{0}'; attempt '{0}', sc(268, -100, '{0}', {mode}, 0)",
                f("fchmodat")
            ),
        ),
        (
            f("fchmodat2"),
            format!(
                "touch '{0}'; attempt '{0}', sc(452, -100, '{0}', {mode}, 0)",
                f("fchmodat2")
            ),
        ),
        // Created with the bits: open and openat with O_CREAT, creat, mknod of a regular file.
        (
            f("open"),
            format!("attempt '{0}', sc(2, '{0}', 0101, {mode})", f("open")),
        ),
        (
            f("openat"),
            format!(
                "attempt '{0}', sc(257, -100, '{0}', 0101, {mode})",
                f("openat")
            ),
        ),
        (
            f("creat"),
            format!("attempt '{0}', sc(85, '{0}', {mode})", f("creat")),
        ),
        (
            f("mknod"),
            format!("attempt '{0}', sc(133, '{0}', {regular}, 0)", f("mknod")),
        ),
        (
            f("mknodat"),
            format!(
                "attempt '{0}', sc(259, -100, '{0}', {regular}, 0)",
                f("mknodat")
            ),
        ),
        // An unnamed file (O_TMPFILE | O_WRONLY), given a name afterwards if it was made.
        (
            f("tmpfile"),
            format!(
                "my $t{tag} = sc(257, -100, '.', 020200001, {mode}); attempt '{0}', $t{tag}; \
                 sc(265, -100, \"/proc/self/fd/$t{tag}\", -100, '{0}', 0x400) if $t{tag} >= 0;",
                f("tmpfile")
            ),
        ),
        // Directories (set-group-ID is what a directory would carry).
        (
            f("mkdir"),
            format!("attempt '{0}', sc(83, '{0}', {mode})", f("mkdir")),
        ),
        (
            f("mkdirat"),
            format!("attempt '{0}', sc(258, -100, '{0}', {mode})", f("mkdirat")),
        ),
    ]
}

#[tokio::test]
async fn no_call_can_set_set_user_id_or_set_group_id_bits_in_a_write_grant() {
    let modes_tried = [
        ("suid", u64::from(0o4755u32)),
        ("sgid", u64::from(0o2755u32)),
        ("both", u64::from(0o6777u32)),
        // The kernel reads a mode as 16 bits: what lies above must not hide the bits.
        ("high32", (1 << 32) | u64::from(0o4755u32)),
        ("high16", (1 << 16) | u64::from(0o2711u32)),
        ("bare", u64::from(S_ISUID)),
    ];
    for ns in modes() {
        let (lab, policy) = granted(ns);
        let mut body = String::new();
        let mut expected = Vec::new();
        for (tag, mode) in modes_tried {
            for (name, line) in setting_calls(tag, mode) {
                body.push_str(&line);
                body.push_str(";\n");
                expected.push((name, EPERM.to_owned()));
            }
        }
        let o = perl(&lab, &policy, &body).await;
        assert_results(&o, &expected, &format!("namespaces {ns}"));
        let planted = with_bits(&lab.outside, S_ISUID | S_ISGID);
        assert!(planted.is_empty(), "namespaces {ns}: {planted:?}");
    }
}

/// The shell's way: copy a program and mark it, install it marked, mark a directory, or link a
/// system set-user-ID program into the grant (the grant is on the same filesystem here).
#[tokio::test]
async fn a_copied_program_cannot_be_made_set_user_id_by_the_usual_tools() {
    for ns in modes() {
        let (lab, policy) = granted(ns);
        let o = lab
            .sh(
                &policy,
                &format!(
                    "cd {} || exit 9
                     cp /usr/bin/id x && chmod 4755 x && echo 'made x'
                     cp /usr/bin/id y && chmod u+s,g+s y && echo 'made y'
                     install -m 6755 /usr/bin/id z && echo 'made z'
                     mkdir d && chmod g+s d && echo 'made d'
                     mkdir -m 2775 e && echo 'made e'
                     for f in /usr/bin/su /usr/bin/passwd /usr/bin/mount; do
                       ln \"$f\" . 2>/dev/null && echo \"linked $f\"
                     done
                     cp /usr/bin/id w && chmod 755 w && echo 'plain w'
                     true",
                    lab.outside.display()
                ),
            )
            .await;
        assert_eq!(
            text(&o.stdout),
            "plain w\n",
            "namespaces {ns}: {}",
            text(&o.stderr)
        );
        let planted = with_bits(&lab.outside, S_ISUID | S_ISGID);
        assert!(planted.is_empty(), "namespaces {ns}: {planted:?}");
    }
}

/// Ordinary modes still work, by every call, and give the file the mode asked for (less the
/// umask the script clears first).
#[tokio::test]
async fn ordinary_modes_still_work() {
    for ns in modes() {
        let (lab, policy) = granted(ns);
        let body = "umask 0;
            touch 'a'; attempt 'chmod', sc(90, 'a', 0755);
            touch 'b'; open(my $h, '<', 'b') or die; attempt 'fchmod', sc(91, fileno($h), 0644);
            touch 'c'; attempt 'fchmodat', sc(268, -100, 'c', 0600, 0);
            touch 'd'; attempt 'fchmodat2', sc(452, -100, 'd', 0751, 0);
            my $fd = sc(2, 'e', 0101, 0644); attempt 'open', $fd;
            $fd = sc(257, -100, 'f', 0101, 0640); attempt 'openat', $fd;
            $fd = sc(85, 'g', 0700); attempt 'creat', $fd;
            attempt 'mknod', sc(133, 'h', 0100644, 0);
            attempt 'mknodat', sc(259, -100, 'i', 0100600, 0);
            my $t = sc(257, -100, '.', 020200001, 0644); attempt 'tmpfile', $t;
            sc(265, -100, \"/proc/self/fd/$t\", -100, 'j', 0x400) if $t >= 0;
            attempt 'mkdir', sc(83, 'k', 0755);
            attempt 'mkdirat', sc(258, -100, 'l', 0700);
            attempt 'sticky', sc(83, 'm', 01777);
            print 'read ', (open(my $r, '<', 'a') ? 'ok' : $! + 0), \"\\n\";";
        let o = perl(&lab, &policy, body).await;
        let expected: Vec<(String, String)> = [
            "chmod",
            "fchmod",
            "fchmodat",
            "fchmodat2",
            "open",
            "openat",
            "creat",
            "mknod",
            "mknodat",
            "tmpfile",
            "mkdir",
            "mkdirat",
            "sticky",
            "read",
        ]
        .iter()
        .map(|n| ((*n).to_owned(), "ok".to_owned()))
        .collect();
        assert_results(&o, &expected, &format!("namespaces {ns}"));
        for (name, mode) in [
            ("a", 0o755),
            ("b", 0o644),
            ("c", 0o600),
            ("d", 0o751),
            ("e", 0o644),
            ("f", 0o640),
            ("g", 0o700),
            ("h", 0o644),
            ("i", 0o600),
            ("j", 0o644),
            ("k", 0o755),
            ("l", 0o700),
            ("m", 0o1777),
        ] {
            let meta = std::fs::symlink_metadata(lab.outside.join(name)).unwrap();
            assert_eq!(
                meta.permissions().mode() & 0o7777,
                mode,
                "namespaces {ns}: {name}"
            );
        }
    }
}

/// `openat2` takes its mode in a structure seccomp cannot read, so it answers ENOSYS and libc
/// falls back to `openat`, which is checked. Ordinary programs open and create files as before.
#[tokio::test]
async fn openat2_is_unavailable_and_ordinary_programs_do_not_need_it() {
    for ns in modes() {
        let (lab, policy) = granted(ns);
        // struct open_how { u64 flags; u64 mode; u64 resolve; }: O_CREAT|O_WRONLY, 04755.
        let o = perl(
            &lab,
            &policy,
            "my $how = pack('QQQ', 0101, 04755, 0);
             attempt 'openat2', sc(437, -100, 'x', $how, length $how);
             my $plain = pack('QQQ', 0, 0, 0);
             attempt 'openat2-read', sc(437, -100, '.', $plain, length $plain);",
        )
        .await;
        assert_results(
            &o,
            &[
                ("openat2".to_owned(), ENOSYS.to_owned()),
                ("openat2-read".to_owned(), ENOSYS.to_owned()),
            ],
            &format!("namespaces {ns}"),
        );
        assert!(
            with_bits(&lab.outside, S_ISUID | S_ISGID).is_empty(),
            "namespaces {ns}"
        );
        let grant = lab.outside.display();
        let o = lab
            .sh(
                &policy,
                &format!(
                    "cd {grant} || exit 9
                     echo one > a && cat a && cp a b && mkdir -p c/d && mv b c/d/ && cat c/d/b
                     /usr/bin/python3 -c \"import os
open('p', 'w').write('two')
os.mkdir('q', 0o755)
os.chmod('p', 0o640)
print(open('p').read(), oct(os.stat('p').st_mode & 0o7777))\"
                     true"
                ),
            )
            .await;
        assert_eq!(
            text(&o.stdout),
            "one\none\ntwo 0o640\n",
            "namespaces {ns}: {}",
            text(&o.stderr)
        );
    }
}

/// A directory the user made set-group-ID stays the user's choice: new directories in it inherit
/// the bit (the kernel gives it, no mode asks for it), while `chmod 755`, which asks to keep the
/// bit, fails and `chmod 00755` clears it.
#[tokio::test]
async fn a_set_group_id_directory_the_user_made_keeps_working() {
    for ns in modes() {
        let (lab, policy) = granted(ns);
        let shared = lab.outside.join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o2775)).unwrap();
        let o = lab
            .sh(
                &policy,
                &format!(
                    "cd {} || exit 9
                     mkdir sub && echo 'made sub'
                     echo x > file && echo 'made file'
                     mkdir keep && chmod 755 keep && echo 'kept keep'
                     mkdir clear && chmod 00755 clear && echo 'cleared clear'",
                    shared.display()
                ),
            )
            .await;
        assert_eq!(
            text(&o.stdout),
            "made sub\nmade file\ncleared clear\n",
            "namespaces {ns}: {}",
            text(&o.stderr)
        );
        let mode = |name: &str| {
            std::fs::symlink_metadata(shared.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("sub") & S_ISGID, S_ISGID, "namespaces {ns}");
        assert_eq!(mode("file") & (S_ISUID | S_ISGID), 0, "namespaces {ns}");
        assert_eq!(mode("clear"), 0o755, "namespaces {ns}");
    }
}
