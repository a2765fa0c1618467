//! The Landlock ruleset of a policy: a read allowlist, a write allowlist, TCP and scoping rules.
//! Built in the parent; the child only adds the private root's rules and restricts itself.

use std::path::Path;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope,
};

use crate::policy::{NetworkPolicy, SYSTEM_READ_DIRS, SandboxPolicy};

/// The newest ABI this code knows how to use; older kernels get the subset they support.
const TARGET_ABI: ABI = ABI::V6;

/// Device files a process may write (everything else under /dev is read-only at most).
const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];

/// Builds the ruleset for `policy`, with `scratch` (the per-execution directory) writable.
/// With a private root, `/proc`, `/dev` and the private tmpfs mounts are new inodes: their
/// rules come from [`inner_rules`] instead, added by the child after the pivot.
///
/// With `allow_spawn: false`, nothing is executable but `executables` (the program, its
/// interpreter and loader), so the program cannot exec anything else once started.
pub(crate) fn build(
    policy: &SandboxPolicy,
    scratch: Option<&Path>,
    private_root: bool,
    executables: &[std::path::PathBuf],
) -> Result<RulesetCreated, String> {
    let (read, all) = access_sets(policy.allow_spawn);
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::BestEffort);
    // Every right is handled (denied unless granted), Execute included even when no grant has it.
    ruleset = ruleset
        .handle_access(AccessFs::from_all(TARGET_ABI))
        .map_err(|e| e.to_string())?;
    if policy.network != NetworkPolicy::Host {
        ruleset = ruleset
            .handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)
            .map_err(|e| e.to_string())?;
    }
    ruleset = ruleset
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(|e| e.to_string())?;
    let mut created = ruleset.create().map_err(|e| e.to_string())?;

    let mut add = |path: &Path, access| add_path(&mut created, path, access);
    for dir in SYSTEM_READ_DIRS
        .iter()
        .map(Path::new)
        .chain(policy.fs.read.iter().map(|p| p.as_path()))
    {
        add(dir, read)?;
    }
    if !private_root {
        // /proc and /dev are needed by nearly every program.
        add(Path::new("/proc"), read)?;
        add(Path::new("/dev"), read)?;
    }
    for dev in WRITABLE_DEVICES {
        add(Path::new(dev), read | AccessFs::WriteFile)?;
    }
    for dir in policy.fs.write.iter().map(|p| p.as_path()).chain(scratch) {
        add(dir, all)?;
    }
    for exe in executables {
        add_path(&mut created, exe, AccessFs::ReadFile | AccessFs::Execute)?;
    }
    if let NetworkPolicy::TcpPorts(ports) = &policy.network {
        for port in ports {
            created
                .as_mut()
                .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(created.no_new_privs(true))
}

/// Rules for the mounts that exist only in the private root, as `(path, raw access mask)`, the
/// masks limited to what a ruleset handles on a kernel of Landlock ABI `abi`.
pub(crate) fn inner_rules(allow_spawn: bool, abi: i32) -> Vec<(std::ffi::CString, u64)> {
    let (read, all) = access_sets(allow_spawn);
    let handled = AccessFs::from_all(TARGET_ABI) & AccessFs::from_all(ABI::from(abi));
    let mut rules = vec![
        // Listing the root shows only what was mounted into it.
        (c"/".to_owned(), BitFlags::from(AccessFs::ReadDir)),
        (c"/proc".to_owned(), read),
        (c"/dev".to_owned(), read),
    ];
    for dir in [c"/tmp", c"/run", c"/var/tmp", c"/dev/shm"] {
        rules.push((dir.to_owned(), all));
    }
    rules
        .into_iter()
        .map(|(path, access)| (path, (access & handled).bits()))
        .collect()
}

/// Read and full access, without the right to execute when spawning is not allowed.
fn access_sets(allow_spawn: bool) -> (BitFlags<AccessFs>, BitFlags<AccessFs>) {
    let (read, all) = (
        AccessFs::from_read(TARGET_ABI),
        AccessFs::from_all(TARGET_ABI),
    );
    if allow_spawn {
        (read, all)
    } else {
        (read & !AccessFs::Execute, all & !AccessFs::Execute)
    }
}

fn add_path(
    ruleset: &mut RulesetCreated,
    path: &Path,
    access: BitFlags<AccessFs>,
) -> Result<(), String> {
    // A path that does not exist simply grants nothing.
    let Ok(fd) = PathFd::new(path) else {
        return Ok(());
    };
    ruleset
        .add_rule(PathBeneath::new(fd, access))
        .map(drop)
        .map_err(|e| format!("{}: {e}", path.display()))
}
