//! The seccomp filters of a policy, compiled in the parent. The child installs them last, just
//! before exec.
//!
//! Three kinds of answer: calls that only an attack needs kill the process (`SIGSYS`, reported
//! as `sandbox_denied`); calls with legitimate probing uses fail with `EPERM` or
//! `EAFNOSUPPORT`; `clone3` fails with `ENOSYS` so that libc falls back to `clone`, whose flags
//! a filter can inspect. A separate first filter refuses the x32 ABI and any foreign
//! architecture.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

use crate::policy::{NetworkPolicy, SandboxPolicy};

/// Calls no skill needs and every escape wants.
const KILL: &[libc::c_long] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_fsopen,
    libc::SYS_fsmount,
    libc::SYS_fsconfig,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_setns,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_chroot,
    libc::SYS_acct,
    libc::SYS_lookup_dcookie,
];

/// Namespace flags of `clone` and `unshare`.
const NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWCGROUP as u64,
    0x80, // CLONE_NEWTIME
];

const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541C;
const PER_LINUX: u64 = 0;
const PERSONALITY_QUERY: u64 = 0xffff_ffff;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The filters for `policy`, in the order they are to be installed. They depend only on two
/// switches, so each variant is compiled once per process.
pub(crate) fn build(policy: &SandboxPolicy) -> Result<Vec<BpfProgram>, String> {
    type Cache = std::sync::Mutex<std::collections::HashMap<(bool, bool), Vec<BpfProgram>>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let key = (policy.allow_spawn, policy.network == NetworkPolicy::Off);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }
    let filters = compile_filters(key.0, key.1)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(key, filters.clone());
    }
    Ok(filters)
}

fn compile_filters(allow_spawn: bool, network_off: bool) -> Result<Vec<BpfProgram>, String> {
    let arch = TargetArch::x86_64;
    let compile = |rules: BTreeMap<i64, Vec<SeccompRule>>, action| -> Result<BpfProgram, String> {
        SeccompFilter::new(rules, SeccompAction::Allow, action, arch)
            .and_then(BpfProgram::try_from)
            .map_err(|e| format!("seccomp filter: {e}"))
    };
    let cond = |arg, op, value| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value).map_err(|e| e.to_string())
    };

    let mut kill: BTreeMap<i64, Vec<SeccompRule>> = KILL.iter().map(|&nr| (nr, vec![])).collect();
    let namespace_rules = |arg| -> Result<Vec<SeccompRule>, String> {
        NAMESPACE_FLAGS
            .iter()
            .map(|&f| {
                SeccompRule::new(vec![cond(arg, SeccompCmpOp::MaskedEq(f), f)?])
                    .map_err(|e| e.to_string())
            })
            .collect()
    };
    kill.insert(libc::SYS_unshare, namespace_rules(0)?);
    kill.insert(libc::SYS_clone, namespace_rules(0)?);

    let mut eperm: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    eperm.insert(
        libc::SYS_ioctl,
        vec![
            SeccompRule::new(vec![cond(1, SeccompCmpOp::MaskedEq(0xffff_ffff), TIOCSTI)?])
                .map_err(|e| e.to_string())?,
            SeccompRule::new(vec![cond(
                1,
                SeccompCmpOp::MaskedEq(0xffff_ffff),
                TIOCLINUX,
            )?])
            .map_err(|e| e.to_string())?,
        ],
    );
    eperm.insert(
        libc::SYS_personality,
        vec![
            SeccompRule::new(vec![
                cond(0, SeccompCmpOp::Ne, PER_LINUX)?,
                cond(0, SeccompCmpOp::Ne, PERSONALITY_QUERY)?,
            ])
            .map_err(|e| e.to_string())?,
        ],
    );
    if !allow_spawn {
        for nr in [libc::SYS_fork, libc::SYS_vfork] {
            eperm.insert(nr, vec![]);
        }
        // Threads are fine; new processes are not.
        let thread = libc::CLONE_THREAD as u64;
        eperm.insert(
            libc::SYS_clone,
            vec![
                SeccompRule::new(vec![cond(0, SeccompCmpOp::MaskedEq(thread), 0)?])
                    .map_err(|e| e.to_string())?,
            ],
        );
        // execve itself stays allowed: the filter is in place before the program starts, and
        // an exec replaces the process rather than adding one.
    }

    let mut filters = vec![
        x32_guard(),
        compile(kill, SeccompAction::KillProcess)?,
        compile(eperm, SeccompAction::Errno(libc::EPERM as u32))?,
    ];
    let mut enosys: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    enosys.insert(libc::SYS_clone3, vec![]);
    filters.push(compile(enosys, SeccompAction::Errno(libc::ENOSYS as u32))?);
    if network_off {
        let mut sockets: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        let not_unix = SeccompRule::new(vec![cond(0, SeccompCmpOp::Ne, libc::AF_UNIX as u64)?])
            .map_err(|e| e.to_string())?;
        sockets.insert(libc::SYS_socket, vec![not_unix.clone()]);
        sockets.insert(libc::SYS_socketpair, vec![not_unix]);
        filters.push(compile(
            sockets,
            SeccompAction::Errno(libc::EAFNOSUPPORT as u32),
        )?);
    }
    Ok(filters)
}

/// Refuses any architecture but x86_64 and, within it, the x32 ABI (system call numbers with
/// bit 30 set), which a filter keyed on x86_64 numbers would otherwise let through.
fn x32_guard() -> BpfProgram {
    const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const BPF_JEQ_K: u16 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
    const BPF_JGE_K: u16 = 0x05 | 0x30; // BPF_JMP | BPF_JGE | BPF_K
    const BPF_RET_K: u16 = 0x06;
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    let ins = |code, jt, jf, k| sock_filter { code, jt, jf, k };
    vec![
        ins(BPF_LD_W_ABS, 0, 0, 4), // seccomp_data.arch
        ins(BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        ins(BPF_LD_W_ABS, 0, 0, 0), // seccomp_data.nr
        ins(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT),
        ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_KILL_PROCESS),
        ins(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ]
}
