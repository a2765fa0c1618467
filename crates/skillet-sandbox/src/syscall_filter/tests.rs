//! The joined program checked against the stack of filters it stands for, and the rules
//! checked one by one.

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

/// Every combination of the switches the filters depend on.
fn every_switch() -> Vec<Switches> {
    let mut out = Vec::new();
    for allow_spawn in [false, true] {
        for network_off in [false, true] {
            for private_root in [false, true] {
                out.push(Switches {
                    allow_spawn,
                    network_off,
                    private_root,
                });
            }
        }
    }
    out
}

fn switches(allow_spawn: bool, network_off: bool, private_root: bool) -> Switches {
    Switches {
        allow_spawn,
        network_off,
        private_root,
    }
}
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
    // The ioctl requests, and socket types (with and without flags) for socket and socketpair.
    let seconds = [
        0,
        TIOCSTI,
        TIOCLINUX,
        0x5401,
        1 << 32 | TIOCSTI,
        libc::SOCK_STREAM as u64,
        libc::SOCK_DGRAM as u64 | libc::SOCK_CLOEXEC as u64,
        libc::SOCK_RAW as u64,
        libc::SOCK_SEQPACKET as u64 | libc::SOCK_NONBLOCK as u64,
    ];
    // The exec key's words in the spare argument registers: none, all, and each one wrong.
    let tails = [
        [0; 3],
        KEY,
        [KEY[0], KEY[1], KEY[2] ^ 1],
        [KEY[0], KEY[1] ^ (1 << 40), KEY[2]],
        [!KEY[0], KEY[1], KEY[2]],
    ];
    for switches in every_switch() {
        let filters = separate(rule_sets(switches, KEY).unwrap());
        let joined = joined(rule_sets(switches, KEY).unwrap()).unwrap();
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
                                 ({switches:?})"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The same, for the calls that take a file mode: each mode in each argument position, so that
/// a check reading the wrong argument, or missing a bit, shows.
#[test]
fn the_joined_program_checks_modes_as_the_filter_stack_does() {
    let modes = [
        0,
        0o644,
        0o4755,
        0o2755,
        0o1777,
        0o6000,
        0o104_755,
        0o4000 | 1 << 32,
        0o2000 | 1 << 16,
        0xffff_ffff_0000_0755,
        u64::MAX,
    ];
    let at_fdcwd = libc::AT_FDCWD as u64;
    for switches in every_switch() {
        let filters = separate(rule_sets(switches, KEY).unwrap());
        let joined = joined(rule_sets(switches, KEY).unwrap()).unwrap();
        for arch in [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386] {
            for nr in (0..600).chain((0..600).map(|n| n | X32_SYSCALL_BIT)) {
                for mode in modes {
                    for at in 1..=3 {
                        let mut args = [at_fdcwd, 0, 0, 0, 0, 0];
                        args[at] = mode;
                        let data = Data { nr, arch, args };
                        assert_eq!(
                            run(&joined, &data),
                            run_stack(&filters, &data),
                            "nr {nr} arch {arch:#x} mode {mode:#o} in argument {at} ({switches:?})"
                        );
                    }
                }
            }
        }
    }
}

/// Every call that takes a mode refuses the set-ID bits in that argument and no other, and
/// lets every other mode through; `openat2`, whose mode seccomp cannot see, is unavailable.
#[test]
fn no_mode_with_set_id_bits_gets_through() {
    let joined = joined(rule_sets(switches(true, false, true), KEY).unwrap()).unwrap();
    let denied = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
    let call = |nr: libc::c_long, args: [u64; 6]| {
        run(
            &joined,
            &Data {
                nr: nr as u32,
                arch: AUDIT_ARCH_X86_64,
                args,
            },
        )
    };
    for (nr, at) in MODE_CALLS {
        let at = usize::from(at);
        for (mode, expected) in [
            (0o4755, denied),
            (0o2755, denied),
            (0o6000, denied),
            (0o104_755, denied),
            (0o4000 | 1 << 32, denied),
            (0o755, libc::SECCOMP_RET_ALLOW),
            (0o644, libc::SECCOMP_RET_ALLOW),
            (0o1777, libc::SECCOMP_RET_ALLOW),
            (0o100_644, libc::SECCOMP_RET_ALLOW),
            (0o1755 | 1 << 32, libc::SECCOMP_RET_ALLOW),
        ] {
            let mut args = [0; 6];
            args[at] = mode;
            assert_eq!(call(nr, args), expected, "call {nr} mode {mode:#o}");
            // The same bits in another argument (O_NONBLOCK is 0o4000 in open's flags) are
            // not a mode.
            for other in (0..6).filter(|&i| i != at) {
                let mut args = [0o644; 6];
                args[other] = mode;
                assert_eq!(
                    call(nr, args),
                    libc::SECCOMP_RET_ALLOW,
                    "call {nr} mode {mode:#o} in argument {other}"
                );
            }
        }
    }
    assert_eq!(
        call(libc::SYS_openat2, [0; 6]),
        libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32
    );
}

/// The interpreter the test above relies on agrees with the rules it checks.
#[test]
fn the_interpreter_sees_what_the_rules_say() {
    let joined = joined(rule_sets(switches(false, true, true), KEY).unwrap()).unwrap();
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

/// Without a private root no `AF_UNIX` socket can be made, and no datagram pair (which can be
/// pointed at any path); stream and seqpacket pairs still can. With one, unix sockets are as
/// before. Offline, every other family is `EAFNOSUPPORT` either way: the two rules share the
/// calls and must not shadow each other.
#[test]
fn without_a_private_root_no_unix_socket_can_be_made() {
    let allow = libc::SECCOMP_RET_ALLOW;
    let eperm = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
    let no_family = libc::SECCOMP_RET_ERRNO | libc::EAFNOSUPPORT as u32;
    let unix = libc::AF_UNIX as u64;
    let inet = libc::AF_INET6 as u64;
    let (stream, dgram, raw, seqpacket) = (
        libc::SOCK_STREAM as u64,
        libc::SOCK_DGRAM as u64,
        libc::SOCK_RAW as u64,
        libc::SOCK_SEQPACKET as u64,
    );
    let flags = (libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) as u64;
    for network_off in [false, true] {
        for allow_spawn in [false, true] {
            let verdict = |private_root: bool, nr: libc::c_long, family: u64, kind: u64| {
                let joined = joined(
                    rule_sets(switches(allow_spawn, network_off, private_root), KEY).unwrap(),
                )
                .unwrap();
                run(
                    &joined,
                    &Data {
                        nr: nr as u32,
                        arch: AUDIT_ARCH_X86_64,
                        args: [family, kind, 0, 0, 0, 0],
                    },
                )
            };
            let other_family = if network_off { no_family } else { allow };
            for kind in [stream, dgram, raw, seqpacket] {
                for kind in [kind, kind | flags, kind | 1 << 32] {
                    assert_eq!(
                        verdict(false, libc::SYS_socket, unix, kind),
                        eperm,
                        "{kind:#x}"
                    );
                    assert_eq!(
                        verdict(true, libc::SYS_socket, unix, kind),
                        allow,
                        "{kind:#x}"
                    );
                    for private_root in [false, true] {
                        for nr in [libc::SYS_socket, libc::SYS_socketpair] {
                            assert_eq!(
                                verdict(private_root, nr, inet, kind),
                                other_family,
                                "call {nr} kind {kind:#x} private root {private_root}"
                            );
                        }
                    }
                    assert_eq!(
                        verdict(true, libc::SYS_socketpair, unix, kind),
                        allow,
                        "{kind:#x}"
                    );
                }
            }
            for kind in [stream, seqpacket, stream | flags, seqpacket | flags] {
                assert_eq!(
                    verdict(false, libc::SYS_socketpair, unix, kind),
                    allow,
                    "{kind:#x}"
                );
            }
            for kind in [dgram, raw, dgram | flags, raw | libc::SOCK_CLOEXEC as u64] {
                assert_eq!(
                    verdict(false, libc::SYS_socketpair, unix, kind),
                    eperm,
                    "{kind:#x}"
                );
            }
            // Other ways to a descriptor of a host socket, refused whatever the switches.
            for private_root in [false, true] {
                for nr in [
                    libc::SYS_pidfd_getfd,
                    libc::SYS_io_uring_setup,
                    libc::SYS_io_uring_enter,
                    libc::SYS_io_uring_register,
                ] {
                    assert_eq!(
                        verdict(private_root, nr, 3, 0),
                        libc::SECCOMP_RET_KILL_PROCESS,
                        "call {nr}"
                    );
                }
            }
        }
    }
}

/// Only the exec that carries the whole key gets through, and only with `allow_spawn: false`
/// does that matter; `execveat` never gets through then.
#[test]
fn only_the_keyed_exec_is_allowed_without_spawning() {
    let verdict = |allow_spawn: bool, nr: libc::c_long, tail: [u64; 3]| {
        let joined = joined(rule_sets(switches(allow_spawn, true, true), KEY).unwrap()).unwrap();
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
