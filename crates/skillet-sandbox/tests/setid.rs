//! A confined run cannot leave a set-user-ID or set-group-ID file, or a file with capabilities,
//! in a write grant. `nosuid` on the grant's mount only stops such a file from working inside
//! the sandbox; on the host it would be a program any local user could run with the rights of
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

use common::{Lab, full_sandbox, landlock_and_seccomp, text};
use skillet_sandbox::{Outcome, SandboxPolicy};

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const EPERM: &str = "1";
const ENOSYS: &str = "38";

/// The modes a test runs in: with namespaces, then Landlock and seccomp alone.
fn modes() -> Vec<bool> {
    let mut out = Vec::new();
    if full_sandbox() {
        out.push(true);
    }
    if landlock_and_seccomp() {
        out.push(false);
    }
    out
}

/// A lab whose directory `outside` is write-granted, in the given mode.
fn granted(ns: bool) -> (Lab, SandboxPolicy) {
    let lab = Lab::new();
    let mut policy = lab.policy();
    policy.namespaces = ns;
    policy.fs.write.push(lab.outside.clone());
    (lab, policy)
}

/// Runs `body` with Perl in the write grant. `attempt NAME, RESULT` prints the name and `ok` or the
/// errno of a call; `sc` is Perl's `syscall`; `touch NAME` makes an ordinary file.
async fn perl(lab: &Lab, policy: &SandboxPolicy, body: &str) -> Outcome {
    let grant = lab.outside.display();
    let script = format!(
        r#"use strict; use warnings;
        chdir "{grant}" or die "chdir: $!";
        sub attempt {{ my ($name, $r) = @_; print "$name ", ($r == -1 ? $! + 0 : "ok"), "\n"; }}
        # syscall() wants writable strings: give it copies.
        sub sc {{ my ($n, @a) = @_; return syscall($n, @a); }}
        sub touch {{ open(my $f, ">", $_[0]) or die "create $_[0]: $!"; close $f; }}
        {body}"#
    );
    lab.run("/usr/bin/perl", &["-e", &script], policy).await
}

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

/// The `name result` lines the script printed.
fn results(o: &Outcome) -> Vec<(String, String)> {
    text(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, r)| (n.to_owned(), r.to_owned()))
        .collect()
}

/// Asserts the script printed exactly `expected` (`name result` pairs, in order).
fn assert_results(o: &Outcome, expected: &[(String, String)], what: &str) {
    assert!(
        !o.denied_syscall,
        "{what}: killed by seccomp; stderr: {}",
        text(&o.stderr)
    );
    assert_eq!(results(o), expected, "{what}; stderr: {}", text(&o.stderr));
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

/// File capabilities are the same class as set-user-ID: a run (even root's) holds no
/// CAP_SETFCAP, so `security.capability` cannot be written, in either format.
#[tokio::test]
async fn file_capabilities_cannot_be_set_in_a_write_grant() {
    for ns in modes() {
        let (lab, policy) = granted(ns);
        // VFS_CAP_REVISION_2 | EFFECTIVE with CAP_SETUID permitted; revision 3 adds a root uid.
        let o = perl(
            &lab,
            &policy,
            "touch 'v2'; touch 'v3'; touch 'lv2';
             my $v2 = pack('L5', 0x02000001, 0x80, 0, 0, 0);
             my $v3 = pack('L6', 0x03000001, 0x80, 0, 0, 0, 0);
             attempt 'setxattr-v2', sc(188, 'v2', 'security.capability', $v2, length $v2, 0);
             attempt 'setxattr-v3', sc(188, 'v3', 'security.capability', $v3, length $v3, 0);
             attempt 'lsetxattr-v2', sc(189, 'lv2', 'security.capability', $v2, length $v2, 0);
             open(my $h, '<', 'v2') or die;
             attempt 'fsetxattr-v2', sc(190, fileno($h), 'security.capability', $v2, length $v2, 0);",
        )
        .await;
        let expected: Vec<(String, String)> =
            ["setxattr-v2", "setxattr-v3", "lsetxattr-v2", "fsetxattr-v2"]
                .iter()
                .map(|n| ((*n).to_owned(), EPERM.to_owned()))
                .collect();
        assert_results(&o, &expected, &format!("namespaces {ns}"));
        let o = lab
            .sh(
                &policy,
                &format!(
                    "cd {} && cp /usr/bin/id s && /usr/sbin/setcap cap_setuid+ep s && echo made",
                    lab.outside.display()
                ),
            )
            .await;
        assert!(
            !text(&o.stdout).contains("made"),
            "namespaces {ns}: {}",
            text(&o.stderr)
        );
        for name in ["v2", "v3", "lv2", "s"] {
            assert!(
                !has_capabilities(&lab.outside.join(name)),
                "namespaces {ns}: {name} has file capabilities"
            );
        }
    }
}

fn has_capabilities(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let mut buf = [0u8; 64];
    // SAFETY: both names are NUL-terminated and the buffer's length is passed with it.
    #[allow(unsafe_code)]
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            c"security.capability".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    n >= 0
}

/// A run cannot give a file to someone else (root's run keeps no CAP_CHOWN), so it cannot
/// leave a file owned by another user, nor change a group to one it is not in.
#[tokio::test]
async fn files_cannot_be_given_to_another_owner() {
    let me = rustix::process::geteuid().as_raw();
    let other = if me == 0 { 65534 } else { 0 };
    for ns in modes() {
        let (lab, policy) = granted(ns);
        let o = perl(
            &lab,
            &policy,
            &format!(
                "touch 'a'; touch 'b'; touch 'c'; touch 'd';
                 attempt 'chown', sc(92, 'a', {other}, -1);
                 attempt 'lchown', sc(94, 'b', {other}, -1);
                 open(my $h, '<', 'c') or die;
                 attempt 'fchown', sc(93, fileno($h), {other}, -1);
                 attempt 'fchownat', sc(260, -100, 'd', {other}, -1, 0);
                 attempt 'chgrp', sc(92, 'a', -1, 65534);"
            ),
        )
        .await;
        // In a user namespace an id that is not mapped is EINVAL rather than EPERM.
        let got = results(&o);
        assert_eq!(
            got.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["chown", "lchown", "fchown", "fchownat", "chgrp"],
            "namespaces {ns}: {}",
            text(&o.stderr)
        );
        for (name, r) in &got {
            assert!(r == EPERM || r == "22", "namespaces {ns}: {name} gave {r}");
        }
        for name in ["a", "b", "c", "d"] {
            let meta = std::fs::symlink_metadata(lab.outside.join(name)).unwrap();
            assert_eq!(meta.uid(), me, "namespaces {ns}: {name}");
            assert_ne!(meta.gid(), 65534, "namespaces {ns}: {name}");
        }
    }
}

/// The program holds no capability at all, whoever runs it; root's program not even when the
/// supervisor's inheritable set is full (as container runtimes have set it), which the bounding
/// set alone would not stop at exec.
#[tokio::test]
async fn the_program_holds_no_capabilities_even_inherited_ones() {
    use rustix::thread::{CapabilitySet, capabilities, set_capabilities};
    let root = rustix::process::geteuid().is_root();
    for inherited in [false, true] {
        if inherited {
            if !root {
                common::skipped("only root's program could inherit capabilities");
                return;
            }
            // Capabilities are per thread, and the sandbox is started from this one.
            let mut sets = capabilities(None).unwrap();
            sets.inheritable = sets.permitted;
            set_capabilities(None, sets).unwrap();
            assert!(
                capabilities(None)
                    .unwrap()
                    .inheritable
                    .contains(CapabilitySet::SETFCAP | CapabilitySet::CHOWN)
            );
        }
        for ns in modes() {
            let (lab, policy) = granted(ns);
            let o = perl(
                &lab,
                &policy,
                "open(my $s, '<', '/proc/self/status') or die;
                 for (<$s>) { print \"$1 $2\\n\" if /^(Cap\\w+):\\s+(\\w+)/ }
                 touch 'f';
                 my $v2 = pack('L5', 0x02000001, 0x80, 0, 0, 0);
                 attempt 'setxattr', sc(188, 'f', 'security.capability', $v2, length $v2, 0);
                 attempt 'chown', sc(92, 'f', 65534, -1);",
            )
            .await;
            let what = format!("namespaces {ns}, inherited {inherited}");
            let zero = "0000000000000000".to_owned();
            let mut expected: Vec<(String, String)> =
                ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
                    .iter()
                    .map(|n| ((*n).to_owned(), zero.clone()))
                    .collect();
            expected.push(("setxattr".to_owned(), EPERM.to_owned()));
            let got = results(&o);
            let seen = |name: &str| {
                got.iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            // A user's program keeps the bounding set it was given (a user namespace's is
            // full), which grants nothing to a process that is not root.
            if !root {
                expected[3].1 = seen("CapBnd");
            }
            // In a user namespace an unmapped owner is EINVAL rather than EPERM.
            let chown = seen("chown");
            assert!(
                chown == EPERM || chown == "22",
                "{what}: chown gave {chown}"
            );
            expected.push(("chown".to_owned(), chown));
            assert_results(&o, &expected, &what);
            assert!(!has_capabilities(&lab.outside.join("f")), "{what}");
        }
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
