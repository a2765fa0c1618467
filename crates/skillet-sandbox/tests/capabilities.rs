//! A confined run holds no capability, whoever runs it, so it cannot leave a file with
//! capabilities (the same class as set-user-ID: on the host it would give whoever runs it
//! privileges) or a file given to another owner in a write grant. Run with namespaces and
//! without, as root and as a user (CI runs both). Set-user-ID bits: setid.rs.

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]
#![allow(clippy::unwrap_used)] // integration tests: a failed setup step should panic loudly

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::in_grant::{EPERM, assert_results, granted, modes, perl, results};
use common::text;

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
