//! The seccomp filters of a policy, compiled in the parent. The child installs them last, just
//! before exec.
//!
//! Three kinds of answer: calls that only an attack needs kill the process (`SIGSYS`, reported
//! as `sandbox_denied`); calls with legitimate probing uses fail with `EPERM` or
//! `EAFNOSUPPORT`; `clone3` fails with `ENOSYS` so that libc falls back to `clone`, whose flags
//! a filter can inspect. A separate first filter refuses the x32 ABI and any foreign
//! architecture. The filters are joined into one program (see `bpf_chain`), so the child
//! installs a single short filter.
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

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

use crate::bpf_chain::Verdict;
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

/// Calls killed when their first argument asks for any of [`NAMESPACE_FLAGS`].
const NAMESPACE_CALLS: [libc::c_long; 2] = [libc::SYS_unshare, libc::SYS_clone];

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

/// The seccomp program for `policy`. It depends only on two switches, so each variant is
/// compiled once per process.
pub(crate) fn build(policy: &SandboxPolicy) -> Result<BpfProgram, String> {
    type Cache = std::sync::Mutex<std::collections::HashMap<(bool, bool), BpfProgram>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let key = (policy.allow_spawn, policy.network == NetworkPolicy::Off);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }
    let program = joined(rule_sets(
        key.0,
        key.1,
        exec_key().map_err(|e| format!("cannot draw the exec key from the kernel: {e}"))?,
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
fn joined(mut sets: Vec<RuleSet>) -> Result<BpfProgram, String> {
    // The namespace checks test every flag with one instruction instead of a rule per flag.
    // They are kills, the strongest answer, so they may run before any program.
    match sets.first_mut() {
        Some((SeccompAction::KillProcess, kill)) => {
            for nr in NAMESPACE_CALLS {
                kill.remove(&nr);
            }
        }
        _ => return Err("the first seccomp rule set must be the kills".into()),
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
            let number = u32::try_from(nr).map_err(|_| format!("system call number {nr}"))?;
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
    let mask = NAMESPACE_FLAGS.iter().fold(0, |m, &f| m | f);
    for nr in NAMESPACE_CALLS {
        let nr = u32::try_from(nr).map_err(|_| format!("system call number {nr}"))?;
        let then_programs = match verdicts.get(&nr) {
            None => false,
            Some(Verdict::Programs) => true,
            Some(_) => return Err(format!("system call {nr} is both checked and refused")),
        };
        verdicts.insert(
            nr,
            Verdict::AnyFlag {
                arg: 0,
                mask: u32::try_from(mask).map_err(|_| "namespace flags above 32 bits")?,
                action: libc::SECCOMP_RET_KILL_PROCESS,
                then_programs,
            },
        );
    }
    crate::bpf_chain::join(&x32_guard(), &verdicts, &programs)
}

fn compile(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    action: SeccompAction,
) -> Result<BpfProgram, String> {
    SeccompFilter::new(rules, SeccompAction::Allow, action, TargetArch::x86_64)
        .and_then(BpfProgram::try_from)
        .map_err(|e| format!("seccomp filter: {e}"))
}

/// The filters' rules, strongest action first.
fn rule_sets(
    allow_spawn: bool,
    network_off: bool,
    exec_key: [u64; 3],
) -> Result<Vec<RuleSet>, String> {
    let cond = |arg, op, value| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value).map_err(|e| e.to_string())
    };
    // Half the instructions of a 64-bit comparison, for arguments the kernel reads as 32 bits:
    // `clone` keeps only the low half of its flags, `unshare` refuses any high bit, an ioctl
    // request and a socket domain are `int`s.
    let cond32 = |arg, op, value| {
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(|e| e.to_string())
    };

    let mut kill: BTreeMap<i64, Vec<SeccompRule>> = KILL.iter().map(|&nr| (nr, vec![])).collect();
    let namespace_rules = |arg| -> Result<Vec<SeccompRule>, String> {
        NAMESPACE_FLAGS
            .iter()
            .map(|&f| {
                SeccompRule::new(vec![cond32(arg, SeccompCmpOp::MaskedEq(f), f)?])
                    .map_err(|e| e.to_string())
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
            SeccompRule::new(vec![cond32(1, SeccompCmpOp::Eq, TIOCSTI)?])
                .map_err(|e| e.to_string())?,
            SeccompRule::new(vec![cond32(1, SeccompCmpOp::Eq, TIOCLINUX)?])
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
                SeccompRule::new(vec![cond32(0, SeccompCmpOp::MaskedEq(thread), 0)?])
                    .map_err(|e| e.to_string())?,
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
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<_, _>>()?,
        );
        eperm.insert(libc::SYS_execveat, vec![]);
    }

    let mut sets = vec![
        (SeccompAction::KillProcess, kill),
        (SeccompAction::Errno(libc::EPERM as u32), eperm),
        (
            SeccompAction::Errno(libc::ENOSYS as u32),
            BTreeMap::from([(libc::SYS_clone3, vec![])]),
        ),
    ];
    if network_off {
        let not_unix = SeccompRule::new(vec![cond32(0, SeccompCmpOp::Ne, libc::AF_UNIX as u64)?])
            .map_err(|e| e.to_string())?;
        sets.push((
            SeccompAction::Errno(libc::EAFNOSUPPORT as u32),
            BTreeMap::from([
                (libc::SYS_socket, vec![not_unix.clone()]),
                (libc::SYS_socketpair, vec![not_unix]),
            ]),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf_chain::eval::{Data, run, run_stack};

    /// The filters as separate programs, as the kernel would stack them.
    fn separate(sets: Vec<RuleSet>) -> Vec<BpfProgram> {
        let mut programs = vec![x32_guard()];
        programs.extend(
            sets.into_iter()
                .map(|(action, rules)| compile(rules, action).unwrap()),
        );
        programs
    }

    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    const KEY: [u64; 3] = [
        0x0123_4567_89ab_cdef,
        0xfedc_ba98_7654_3210,
        0x5555_aaaa_5555_aaaa,
    ];
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;

    /// The joined program answers exactly as the stack of separate filters would, for every
    /// call number, both ABIs, a foreign architecture and the arguments the rules look at.
    #[test]
    fn the_joined_program_means_what_the_filter_stack_means() {
        let firsts = [
            0,
            libc::AF_UNIX as u64,
            libc::AF_INET as u64,
            libc::AF_NETLINK as u64,
            libc::CLONE_THREAD as u64 | libc::CLONE_VM as u64,
            libc::SIGCHLD as u64,
            libc::CLONE_NEWUSER as u64,
            libc::CLONE_NEWNET as u64 | libc::CLONE_NEWNS as u64,
            0x80,
            libc::CLONE_NEWPID as u64 | libc::CLONE_THREAD as u64,
            libc::CLONE_NEWCGROUP as u64,
            1 << 32,
            PER_LINUX,
            PERSONALITY_QUERY,
            0x0040_0000, // READ_IMPLIES_EXEC
        ];
        let seconds = [0, TIOCSTI, TIOCLINUX, 0x5401, 1 << 32 | TIOCSTI];
        // The exec key's words in the spare argument registers: none, all, and each one wrong.
        let tails = [
            [0; 3],
            KEY,
            [KEY[0], KEY[1], KEY[2] ^ 1],
            [KEY[0], KEY[1] ^ (1 << 40), KEY[2]],
            [!KEY[0], KEY[1], KEY[2]],
        ];
        for allow_spawn in [false, true] {
            for network_off in [false, true] {
                let filters = separate(rule_sets(allow_spawn, network_off, KEY).unwrap());
                let joined = joined(rule_sets(allow_spawn, network_off, KEY).unwrap()).unwrap();
                let stack_len: usize = filters.iter().map(Vec::len).sum();
                assert!(
                    joined.len() * 3 < stack_len * 2,
                    "{} of {stack_len}",
                    joined.len()
                );
                for arch in [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386] {
                    for nr in (0..600).chain((0..600).map(|n| n | X32_SYSCALL_BIT)) {
                        for &a0 in &firsts {
                            for &a1 in &seconds {
                                for tail in tails {
                                    let data = Data {
                                        nr,
                                        arch,
                                        args: [a0, a1, 0, tail[0], tail[1], tail[2]],
                                    };
                                    assert_eq!(
                                        run(&joined, &data),
                                        run_stack(&filters, &data),
                                        "nr {nr} arch {arch:#x} args {a0:#x} {a1:#x} {tail:x?} \
                                         (allow_spawn {allow_spawn}, network_off {network_off})"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The interpreter the test above relies on agrees with the rules it checks.
    #[test]
    fn the_interpreter_sees_what_the_rules_say() {
        let joined = joined(rule_sets(false, true, KEY).unwrap()).unwrap();
        let call = |nr: libc::c_long, a0: u64| {
            run(
                &joined,
                &Data {
                    nr: nr as u32,
                    arch: AUDIT_ARCH_X86_64,
                    args: [a0, 0, 0, 0, 0, 0],
                },
            )
        };
        assert_eq!(call(libc::SYS_read, 0), libc::SECCOMP_RET_ALLOW);
        assert_eq!(call(libc::SYS_ptrace, 0), libc::SECCOMP_RET_KILL_PROCESS);
        assert_eq!(
            call(libc::SYS_unshare, libc::CLONE_NEWUSER as u64),
            libc::SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(
            call(libc::SYS_fork, 0),
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32
        );
        assert_eq!(
            call(libc::SYS_socket, libc::AF_INET as u64),
            libc::SECCOMP_RET_ERRNO | libc::EAFNOSUPPORT as u32
        );
        assert_eq!(
            call(libc::SYS_socket, libc::AF_UNIX as u64),
            libc::SECCOMP_RET_ALLOW
        );
        assert_eq!(
            call(libc::SYS_clone3, 0),
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32
        );
    }

    /// Only the exec that carries the whole key gets through, and only with `allow_spawn: false`
    /// does that matter; `execveat` never gets through then.
    #[test]
    fn only_the_keyed_exec_is_allowed_without_spawning() {
        let verdict = |allow_spawn: bool, nr: libc::c_long, tail: [u64; 3]| {
            let joined = joined(rule_sets(allow_spawn, true, KEY).unwrap()).unwrap();
            run(
                &joined,
                &Data {
                    nr: nr as u32,
                    arch: AUDIT_ARCH_X86_64,
                    args: [0x1000, 0x2000, 0x3000, tail[0], tail[1], tail[2]],
                },
            )
        };
        let denied = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
        assert_eq!(
            verdict(false, libc::SYS_execve, KEY),
            libc::SECCOMP_RET_ALLOW
        );
        for wrong in [
            [0; 3],
            [KEY[0], KEY[1], 0],
            [0, KEY[1], KEY[2]],
            [KEY[0], 0, KEY[2]],
        ] {
            assert_eq!(
                verdict(false, libc::SYS_execve, wrong),
                denied,
                "{wrong:x?}"
            );
        }
        assert_eq!(verdict(false, libc::SYS_execveat, KEY), denied);
        assert_eq!(verdict(false, libc::SYS_execveat, [0; 3]), denied);
        assert_eq!(
            verdict(true, libc::SYS_execve, [0; 3]),
            libc::SECCOMP_RET_ALLOW
        );
        assert_eq!(
            verdict(true, libc::SYS_execveat, [0; 3]),
            libc::SECCOMP_RET_ALLOW
        );
    }

    #[test]
    fn the_exec_key_is_drawn_once_and_is_not_zero() {
        let key = exec_key().unwrap();
        assert_eq!(key, exec_key().unwrap());
        assert_ne!(key, [0; 3]);
    }
}
