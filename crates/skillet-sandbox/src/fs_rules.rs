//! The Landlock ruleset of a policy: a read allowlist, a write allowlist, TCP and scoping rules.
//! Built in the parent from the policy's opened handles (handles.rs); the child only adds the
//! private root's rules and restricts itself.
//!
//! Landlock grants a right on a directory to everything beneath it and cannot take it back
//! lower down, so a grant that holds protected or masked paths is split: every directory on
//! the way from the grant to them keeps only reading (no entry in it can be made, removed or
//! renamed, which is what keeps a protected name from being created or moved away), each other
//! entry gets the grant's rights by a rule of its own, and the guarded paths get what their
//! guard leaves. See docs/sandbox.md, "Protected paths".

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope,
};
use rustix::fs::{FileType, Mode, OFlags};

use crate::handles::{Guard, OpenedFs};
use crate::policy::{NetworkPolicy, SYSTEM_READ_DIRS, SandboxPolicy};
use crate::setup_error::RulesetError;

/// The newest ABI this code knows how to use; older kernels get the subset they support.
const TARGET_ABI: ABI = ABI::V6;

/// Entries of one split directory given rules of their own, at most: past it (a directory
/// made to slow every run down), the rest keep only the directory's reading.
const MAX_SPLIT_ENTRIES: usize = 10_000;

/// Device files a process may write (everything else under /dev is read-only at most).
const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];

/// Rights that mean something on a file that is not a directory.
fn file_rights() -> BitFlags<AccessFs> {
    AccessFs::ReadFile
        | AccessFs::WriteFile
        | AccessFs::Execute
        | AccessFs::Truncate
        | AccessFs::IoctlDev
}

/// Builds the ruleset for `policy`, whose paths `fs` holds opened. With a private root,
/// `/proc`, `/dev` and the private tmpfs mounts are new inodes: their rules come from
/// [`inner_rules`] instead, added by the child after the pivot. With one, masked paths are
/// hidden by mounts (plan.rs) and read grants are not split for them.
///
/// With `allow_spawn: false`, nothing is executable but `executables` (the program, its
/// interpreter and loader), so the program cannot exec anything else once started.
pub(crate) fn build(
    policy: &SandboxPolicy,
    fs: &OpenedFs,
    private_root: bool,
    executables: &[std::path::PathBuf],
) -> Result<RulesetCreated, RulesetError> {
    let (read, all) = access_sets(policy.allow_spawn);
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::BestEffort);
    // Every right is handled (denied unless granted), Execute included even when no grant has
    // it, and MakeChar/MakeBlock, which no rule ever grants.
    let failed = |step| {
        move |e: landlock::RulesetError| RulesetError::Create {
            step,
            source: e.into(),
        }
    };
    ruleset = ruleset
        .handle_access(AccessFs::from_all(TARGET_ABI))
        .map_err(failed("filesystem rights"))?;
    if policy.network != NetworkPolicy::Host {
        ruleset = ruleset
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
            .map_err(failed("TCP rights"))?;
    }
    ruleset = ruleset
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(failed("scopes"))?;
    let mut created = ruleset.create().map_err(failed("creation"))?;

    for dir in SYSTEM_READ_DIRS.iter().map(Path::new) {
        add_path(&mut created, dir, read)?;
    }
    if !private_root {
        // /proc and /dev are needed by nearly every program.
        add_path(&mut created, Path::new("/proc"), read)?;
        add_path(&mut created, Path::new("/dev"), read)?;
    }
    for dev in WRITABLE_DEVICES {
        add_path(&mut created, Path::new(dev), read | AccessFs::WriteFile)?;
    }
    // A masked path is hidden by a mount in a private root; without one, no rule may reach it.
    let masked_here = |g: Guard| g == Guard::Hidden && !private_root;
    for h in &fs.read {
        let guarded = fs.guarded_in(&h.path, masked_here);
        add_tree(&mut created, h.fd(), h.is_dir, read, &guarded, &h.path)?;
    }
    // In a private root, protected and masked paths in a write grant are mounted over (and
    // made to exist first: placeholders.rs), which also keeps them from being renamed away;
    // the grant is split only around those a mount cannot cover (a link). Without one, the
    // grant is split around all of them.
    for h in &fs.write {
        let guarded = if private_root {
            fs.unmounted_in(&h.path)
        } else {
            fs.guarded_in(&h.path, |_| true)
        };
        add_tree(&mut created, h.fd(), h.is_dir, all, &guarded, &h.path)?;
    }
    if let Some(h) = &fs.scratch {
        add_fd(&mut created, h.fd(), true, all, &h.path)?;
    }
    for exe in executables {
        add_path(&mut created, exe, AccessFs::ReadFile | AccessFs::Execute)?;
    }
    if let NetworkPolicy::TcpPorts(ports) = &policy.network {
        for port in ports {
            created
                .as_mut()
                .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
                .map_err(|e| RulesetError::Rule {
                    at: format!("tcp:{port}").into(),
                    source: e.into(),
                })?;
        }
    }
    Ok(created.no_new_privs(true))
}

/// Rules for the mounts that exist only in the private root, as `(path, raw access mask)`, the
/// masks limited to what a ruleset handles on a kernel of Landlock ABI `abi`.
///
/// `split` are the write grants split around something (a sealed directory, a protected link):
/// a private directory above one (a workspace under `/tmp`) is only readable in that run,
/// since its rule would reach through the grant's mount and give back what the split takes
/// (the program keeps its scratch directory, `TMPDIR`).
pub(crate) fn inner_rules(
    allow_spawn: bool,
    abi: i32,
    split: &[&Path],
) -> Vec<(std::ffi::CString, u64)> {
    let (read, all) = access_sets(allow_spawn);
    let handled = AccessFs::from_all(TARGET_ABI) & AccessFs::from_all(ABI::from(abi));
    let mut rules = vec![
        // Listing the root shows only what was mounted into it.
        (c"/".to_owned(), BitFlags::from(AccessFs::ReadDir)),
        (c"/proc".to_owned(), read),
        (c"/dev".to_owned(), read),
    ];
    // `/.scratch` backs the scratch directory (see scratch.rs).
    // A grant bound under one of these (a workspace under /tmp) gets its rule too: the
    // mounts keep what it holds read-only, protected or masked, but not a split's effect.
    for dir in [c"/tmp", c"/run", c"/var/tmp", c"/dev/shm", c"/.scratch"] {
        let above_a_split = split
            .iter()
            .any(|w| w.starts_with(OsStr::from_bytes(dir.to_bytes())));
        rules.push((dir.to_owned(), if above_a_split { read } else { all }));
    }
    rules
        .into_iter()
        .map(|(path, access)| (path, (access & handled).bits()))
        .collect()
}

/// Read and full access, without the right to execute when spawning is not allowed. "Full"
/// never includes making character or block devices: no program needs to, and a device node
/// left in a writable tree would outlive the run.
fn access_sets(allow_spawn: bool) -> (BitFlags<AccessFs>, BitFlags<AccessFs>) {
    let (read, all) = (
        AccessFs::from_read(TARGET_ABI),
        AccessFs::from_all(TARGET_ABI) & !(AccessFs::MakeChar | AccessFs::MakeBlock),
    );
    if allow_spawn {
        (read, all)
    } else {
        (read & !AccessFs::Execute, all & !AccessFs::Execute)
    }
}

/// What a guarded path keeps of a grant's rights.
fn kept_by(guard: Guard) -> BitFlags<AccessFs> {
    match guard {
        // A sealed directory keeps everything but changing its own entries, which the split
        // takes from it.
        Guard::ReadOnly | Guard::Sealed => AccessFs::from_read(TARGET_ABI),
        Guard::Hidden => BitFlags::EMPTY,
    }
}

/// Grants `access` on the tree at `fd`, except what `guarded` (paths relative to it) keeps
/// from it. `at` names the tree in errors.
fn add_tree(
    ruleset: &mut RulesetCreated,
    fd: BorrowedFd<'_>,
    is_dir: bool,
    access: BitFlags<AccessFs>,
    guarded: &[(&Path, Guard)],
    at: &Path,
) -> Result<(), RulesetError> {
    let mut access = access;
    let mut sealed = false;
    let mut below: BTreeMap<&OsStr, Vec<(&Path, Guard)>> = BTreeMap::new();
    for (rel, guard) in guarded {
        let mut parts = rel.components();
        match parts.next() {
            None if *guard == Guard::Sealed => sealed = true,
            None => access &= kept_by(*guard),
            Some(first) => below
                .entry(first.as_os_str())
                .or_default()
                .push((parts.as_path(), *guard)),
        }
    }
    if !is_dir {
        // A file in the way of a guarded path (`.git` as a pointer file, for `.git/hooks`)
        // is guarded as strictly.
        let access = below
            .values()
            .flatten()
            .fold(access, |a, (_, g)| a & kept_by(*g));
        return add_fd(ruleset, fd, false, access, at);
    }
    if below.is_empty() && !sealed {
        return add_fd(ruleset, fd, true, access, at);
    }
    // This directory itself: read (and list, even above a masked path, whose names then show),
    // never an entry made, removed or renamed in it.
    let floor = below
        .values()
        .flatten()
        .fold(AccessFs::from_read(TARGET_ABI), |a, (_, g)| a & kept_by(*g))
        | AccessFs::ReadDir;
    add_fd(ruleset, fd, true, access & floor, at)?;
    let listing = rustix::fs::openat(
        fd,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| unlisted(at, e))?;
    let dir = rustix::fs::Dir::new(listing).map_err(|e| unlisted(at, e))?;
    for entry in dir.take(MAX_SPLIT_ENTRIES) {
        let entry = entry.map_err(|e| unlisted(at, e))?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name == "." || name == ".." {
            continue;
        }
        // Entries are opened as they are now, never through a link; one that changes later
        // keeps only this directory's rights.
        let Ok(child) = rustix::fs::openat(
            fd,
            entry.file_name(),
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            continue;
        };
        let Ok(st) = rustix::fs::fstat(&child) else {
            continue;
        };
        let kind = FileType::from_raw_mode(st.st_mode);
        let child_at = at.join(name);
        match (kind, below.get(name)) {
            // A link grants nothing: Landlock checks where it leads.
            (FileType::Symlink, _) => {}
            (_, Some(inner)) => add_tree(
                ruleset,
                child.as_fd(),
                kind == FileType::Directory,
                access,
                inner,
                &child_at,
            )?,
            // A file with other names may be a protected file under another name: writing it
            // would write that one.
            (FileType::RegularFile, None) if st.st_nlink > 1 => {}
            (_, None) => add_fd(
                ruleset,
                child.as_fd(),
                kind == FileType::Directory,
                access,
                &child_at,
            )?,
        }
    }
    Ok(())
}

fn add_fd(
    ruleset: &mut RulesetCreated,
    fd: BorrowedFd<'_>,
    is_dir: bool,
    access: BitFlags<AccessFs>,
    at: &Path,
) -> Result<(), RulesetError> {
    let access = if is_dir {
        access
    } else {
        access & file_rights()
    };
    if access.is_empty() {
        return Ok(());
    }
    ruleset
        .add_rule(PathBeneath::new(fd, access))
        .map(drop)
        .map_err(|e| RulesetError::Rule {
            at: at.to_path_buf(),
            source: e.into(),
        })
}

fn unlisted(at: &Path, e: rustix::io::Errno) -> RulesetError {
    RulesetError::List {
        at: at.to_path_buf(),
        source: e.into(),
    }
}

/// A rule for a system path, which only root could change: opened as it is.
fn add_path(
    ruleset: &mut RulesetCreated,
    path: &Path,
    access: BitFlags<AccessFs>,
) -> Result<(), RulesetError> {
    // A path that does not exist simply grants nothing.
    let Ok(fd) = PathFd::new(path) else {
        return Ok(());
    };
    ruleset
        .add_rule(PathBeneath::new(fd, access))
        .map(drop)
        .map_err(|e| RulesetError::Rule {
            at: path.to_path_buf(),
            source: e.into(),
        })
}
