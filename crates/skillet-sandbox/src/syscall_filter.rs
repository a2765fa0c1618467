//! The seccomp filters of a policy, compiled in the parent. The child installs them last, just
//! before exec.
//!
//! Three kinds of answer: calls that only an attack needs kill the process (`SIGSYS`, reported
//! as `sandbox_denied`); calls with legitimate probing uses fail with `EPERM` or
//! `EAFNOSUPPORT`; `clone3` and `openat2` fail with `ENOSYS` so that libc falls back to `clone`
//! and `openat`, whose arguments a filter can inspect (`clone3` and `openat2` take theirs in a
//! structure in memory, which seccomp cannot read). A separate first filter refuses the x32 ABI
//! and any foreign architecture. The filters are joined into one program (see `bpf_chain`), so
//! the child installs a single short filter.
//!
//! No call may set the set-user-ID or set-group-ID bit (see [`MODE_CALLS`]): a file the program
//! leaves in a write grant outlives the run, and `nosuid` on the grant's mount only stops the bit
//! from working inside the sandbox. On the host a set-user-ID copy of a shell made by root's run
//! would be a root shell for every local user, and one made by a user's run a way into that
//! user's account for every other. File capabilities are the same danger; setting them takes
//! `CAP_SETFCAP`, which no program here holds (root's run drops every capability, a user's run
//! is not root in its namespace).
//!
//! With `allow_spawn: false` the one exec that starts the program is told apart from every later
//! one by a key: [`exec_key`], 192 random bits chosen once per supervisor, which the child passes
//! in the three argument registers `execve` does not use. The filter lets `execve` through only
//! with the key and refuses `execveat` outright. The program never sees the key (it is in the
//! supervisor's memory and in the filter, which a process cannot read back), so after its own
//! start it cannot exec anything: not another program, not the ELF loader naming one
//! (`ld-linux-x86-64.so.2 /bin/sh`, by any path, copy or link), not a file descriptor
//! (`fexecve`, `execveat(AT_EMPTY_PATH)`, `/proc/self/fd/N`). Landlock's execute rule
//! (exec_allow.rs) cannot do this alone: the loader must stay executable for the program
//! itself, and a loader run by hand maps its target with `mmap`, which Landlock does not check.
//!
//! Which sockets a run may make, offline and without a private root, is in `sockets`.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

use crate::bpf_chain::Verdict;
use crate::policy::{NetworkPolicy, SandboxPolicy};
use crate::setup_error::FilterError;

/// Calls no skill needs and every escape wants.
const KILL: &[libc::c_long] = &[
    libc::SYS_ptrace,
    libc::SYS_pidfd_getfd,
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

/// Calls killed when their first argument asks for any of [`NAMESPACE_FLAGS`].
const NAMESPACE_CALLS: [libc::c_long; 2] = [libc::SYS_unshare, libc::SYS_clone];

/// The answer to calls with legitimate probing uses.
const REFUSE: SeccompAction = SeccompAction::Errno(libc::EPERM as u32);

/// The set-user-ID and set-group-ID bits of a file mode.
const SETID_BITS: u32 = libc::S_ISUID | libc::S_ISGID;

/// Every call that takes a file mode, with the argument that holds it: each fails with `EPERM`
/// when the mode has any of [`SETID_BITS`]. The kernel reads a mode as 16 bits, so testing the
/// low 32 is exact. `open` and `openat` are refused whatever their flags: the kernel ignores
/// the mode without `O_CREAT` or `O_TMPFILE`, and libc passes 0 (Go and Rust a plain 0o666 or
/// 0o777) there. `mkdir` ignores the bits today; refusing them keeps it so.
const MODE_CALLS: [(libc::c_long, u8); 11] = [
    (libc::SYS_chmod, 1),
    (libc::SYS_fchmod, 1),
    (libc::SYS_fchmodat, 2),
    (libc::SYS_fchmodat2, 2),
    (libc::SYS_open, 2),
    (libc::SYS_openat, 3),
    (libc::SYS_creat, 1),
    (libc::SYS_mknod, 1),
    (libc::SYS_mknodat, 2),
    (libc::SYS_mkdir, 1),
    (libc::SYS_mkdirat, 2),
];

/// Calls that take their arguments in a structure seccomp cannot read, answered `ENOSYS`:
/// callers fall back to the older call, as they must on kernels before 5.3 (`clone3`) and 5.6
/// (`openat2`). glibc, musl, Go, Python and Rust open files with `open`/`openat` anyway.
const STRUCT_CALLS: [libc::c_long; 2] = [libc::SYS_clone3, libc::SYS_openat2];

const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541C;
const PER_LINUX: u64 = 0;
const PERSONALITY_QUERY: u64 = 0xffff_ffff;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The key the one allowed `execve` carries in its unused argument registers (see the module
/// documentation): random, chosen once per process, before any child is cloned.
pub(crate) fn exec_key() -> std::io::Result<[u64; 3]> {
    static KEY: std::sync::OnceLock<[u64; 3]> = std::sync::OnceLock::new();
    if let Some(key) = KEY.get() {
        return Ok(*key);
    }
    let mut bytes = [0u8; 24];
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: getrandom writes at most the given length into the buffer.
        #[allow(unsafe_code)]
        let n = unsafe {
            libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
        };
        match usize::try_from(n) {
            Ok(n) => filled += n,
            Err(_) => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    Ok(*KEY.get_or_init(|| [word(0), word(1), word(2)]))
}

/// The seccomp program for `policy`, for a run with or without a private root (`private_root`:
/// the run has its own mount namespace, which hides the host's unix sockets). It depends only
/// on three switches, so each variant is compiled once per process.
pub(crate) fn build(policy: &SandboxPolicy, private_root: bool) -> Result<BpfProgram, FilterError> {
    type Cache = std::sync::Mutex<std::collections::HashMap<(bool, bool, bool), BpfProgram>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let key = (
        policy.allow_spawn,
        policy.network == NetworkPolicy::Off,
        private_root,
    );
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }
    let program = joined(rule_sets(
        Switches {
            allow_spawn: key.0,
            network_off: key.1,
            private_root: key.2,
        },
        exec_key().map_err(FilterError::ExecKey)?,
    )?)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(key, program.clone());
    }
    Ok(program)
}

/// The rules of one filter: the action taken when one matches, and the rules per call number
/// (an empty list matches every call of that number).
type RuleSet = (SeccompAction, BTreeMap<i64, Vec<SeccompRule>>);

/// One program: calls refused outright are answered by the dispatcher, and only the calls
/// whose arguments matter are compiled by `seccompiler`.
fn joined(mut sets: Vec<RuleSet>) -> Result<BpfProgram, FilterError> {
    // A flag check tests every bit with one instruction instead of a rule per bit, before any
    // program runs, so no stronger set may name its call (sets come strongest first).
    let checks = flag_checks();
    for &(nr, _, _, ref action) in &checks {
        let owner =
            sets.iter()
                .position(|(a, _)| a == action)
                .ok_or(FilterError::Inconsistent {
                    call: nr,
                    problem: "no rule set takes its flag check",
                })?;
        if sets[..owner]
            .iter()
            .any(|(_, rules)| rules.contains_key(&nr))
        {
            return Err(FilterError::Inconsistent {
                call: nr,
                problem: "its flag check comes after a stronger rule",
            });
        }
        if sets[owner].1.remove(&nr).is_none() {
            return Err(FilterError::Inconsistent {
                call: nr,
                problem: "its flag check has no rules behind it",
            });
        }
    }
    // A number only one set names, with no conditions, is answered by the dispatcher. Any
    // other goes to the programs of every set that names it (an empty rule list matches all
    // calls), which rank the answers as the kernel would.
    let mut named: BTreeMap<i64, usize> = BTreeMap::new();
    for nr in sets.iter().flat_map(|(_, rules)| rules.keys()) {
        *named.entry(*nr).or_default() += 1;
    }
    let mut verdicts = BTreeMap::new();
    let mut programs = Vec::new();
    for (action, rules) in sets {
        let mut conditional = BTreeMap::new();
        for (nr, chain) in rules {
            let number = u32::try_from(nr).map_err(|_| FilterError::Inconsistent {
                call: nr,
                problem: "not a system call number",
            })?;
            if chain.is_empty() && named.get(&nr) == Some(&1) {
                verdicts.insert(number, Verdict::Return(u32::from(action.clone())));
            } else {
                verdicts.insert(number, Verdict::Programs);
                conditional.insert(nr, chain);
            }
        }
        if !conditional.is_empty() {
            programs.push(compile(conditional, action)?);
        }
    }
    for (nr, arg, mask, action) in checks {
        let nr = u32::try_from(nr).map_err(|_| FilterError::Inconsistent {
            call: nr,
            problem: "not a system call number",
        })?;
        let then_programs = match verdicts.get(&nr) {
            None => false,
            Some(Verdict::Programs) => true,
            Some(_) => {
                return Err(FilterError::Inconsistent {
                    call: i64::from(nr),
                    problem: "it is both checked and refused outright",
                });
            }
        };
        verdicts.insert(
            nr,
            Verdict::AnyFlag {
                arg,
                mask,
                action: u32::from(action),
                then_programs,
            },
        );
    }
    crate::bpf_chain::join(&x32_guard(), &verdicts, &programs)
}

/// The calls the dispatcher answers from one argument's bits: (call, argument, mask, action
/// when any bit of the mask is set). Each stands for the rules [`rule_sets`] gives the call,
/// one per bit, which the stack of separate filters runs instead.
fn flag_checks() -> Vec<(libc::c_long, u8, u32, SeccompAction)> {
    // Every namespace flag is below bit 32 (`CLONE_NEWTIME` is 0x80).
    let namespaces = NAMESPACE_FLAGS.iter().fold(0, |m, &f| m | f) as u32;
    NAMESPACE_CALLS
        .iter()
        .map(|&nr| (nr, 0, namespaces, SeccompAction::KillProcess))
        .chain(
            MODE_CALLS
                .iter()
                .map(|&(nr, arg)| (nr, arg, SETID_BITS, REFUSE)),
        )
        .collect()
}

fn compile(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    action: SeccompAction,
) -> Result<BpfProgram, FilterError> {
    SeccompFilter::new(rules, SeccompAction::Allow, action, TargetArch::x86_64)
        .and_then(BpfProgram::try_from)
        .map_err(compile_error)
}

/// A rule or filter the seccomp crate refused.
fn compile_error(e: impl std::error::Error + Send + Sync + 'static) -> FilterError {
    FilterError::Compile(Box::new(e))
}

/// What the filters depend on.
#[derive(Debug, Clone, Copy)]
struct Switches {
    /// The policy lets the program start other processes.
    allow_spawn: bool,
    /// No network: no socket families but `AF_UNIX`.
    network_off: bool,
    /// The run has a private root, which hides the host's unix sockets; without one, no
    /// `AF_UNIX` socket may be made (see the module documentation).
    private_root: bool,
}

/// The filters' rules, strongest action first.
fn rule_sets(switches: Switches, exec_key: [u64; 3]) -> Result<Vec<RuleSet>, FilterError> {
    let Switches {
        allow_spawn,
        network_off,
        private_root,
    } = switches;
    let cond = |arg, op, value| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value).map_err(compile_error)
    };
    // Half the instructions of a 64-bit comparison, for arguments the kernel reads as 32 bits:
    // `clone` keeps only the low half of its flags, `unshare` refuses any high bit, an ioctl
    // request and a socket domain are `int`s.
    let cond32 = |arg, op, value| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(compile_error)
    };

    let mut kill: BTreeMap<i64, Vec<SeccompRule>> = KILL.iter().map(|&nr| (nr, vec![])).collect();
    let namespace_rules = |arg| -> Result<Vec<SeccompRule>, FilterError> {
        NAMESPACE_FLAGS
            .iter()
            .map(|&f| {
                SeccompRule::new(vec![cond32(arg, SeccompCmpOp::MaskedEq(f), f)?])
                    .map_err(compile_error)
            })
            .collect()
    };
    for nr in NAMESPACE_CALLS {
        kill.insert(nr, namespace_rules(0)?);
    }

    let mut eperm: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    eperm.insert(
        libc::SYS_ioctl,
        vec![
            SeccompRule::new(vec![cond32(1, SeccompCmpOp::Eq, TIOCSTI)?]).map_err(compile_error)?,
            SeccompRule::new(vec![cond32(1, SeccompCmpOp::Eq, TIOCLINUX)?])
                .map_err(compile_error)?,
        ],
    );
    eperm.insert(
        libc::SYS_personality,
        vec![
            SeccompRule::new(vec![
                cond(0, SeccompCmpOp::Ne, PER_LINUX)?,
                cond(0, SeccompCmpOp::Ne, PERSONALITY_QUERY)?,
            ])
            .map_err(compile_error)?,
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
                SeccompRule::new(vec![cond32(0, SeccompCmpOp::MaskedEq(thread), 0)?])
                    .map_err(compile_error)?,
            ],
        );
        // The program's own exec carries the key in arguments 3 to 5, which execve ignores;
        // any other exec is missing at least one word of it.
        eperm.insert(
            libc::SYS_execve,
            (3u8..)
                .zip(exec_key)
                .map(|(arg, word)| {
                    SeccompRule::new(vec![cond(arg, SeccompCmpOp::Ne, word)?])
                        .map_err(compile_error)
                })
                .collect::<Result<_, _>>()?,
        );
        eperm.insert(libc::SYS_execveat, vec![]);
    }

    let setid_rules = |arg| -> Result<Vec<SeccompRule>, FilterError> {
        [libc::S_ISUID, libc::S_ISGID]
            .iter()
            .map(|&bit| {
                let bit = u64::from(bit);
                SeccompRule::new(vec![cond32(arg, SeccompCmpOp::MaskedEq(bit), bit)?])
                    .map_err(compile_error)
            })
            .collect()
    };
    for (nr, arg) in MODE_CALLS {
        eperm.insert(nr, setid_rules(arg)?);
    }
    if !private_root {
        eperm.extend(sockets::no_unix()?);
    }

    let mut sets = vec![
        (SeccompAction::KillProcess, kill),
        (REFUSE, eperm),
        (
            SeccompAction::Errno(libc::ENOSYS as u32),
            STRUCT_CALLS.iter().map(|&nr| (nr, vec![])).collect(),
        ),
    ];
    if network_off {
        sets.push((
            SeccompAction::Errno(libc::EAFNOSUPPORT as u32),
            sockets::unix_only()?,
        ));
    }
    Ok(sets)
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

mod sockets;
#[cfg(test)]
mod tests;
