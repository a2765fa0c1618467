//! Several seccomp programs joined into one, behind a dispatcher that answers most system calls
//! after a handful of instructions.
//!
//! Installing a filter costs in proportion to its length: the kernel JIT-compiles it and then
//! runs it once per system call number to find the calls it always allows. `seccompiler` emits a
//! linear chain of comparisons per filter, and the sandbox needs several filters because each
//! has a single match action. Five such filters cost ~0.3 ms per sandboxed spawn, half as much
//! as the spawn itself. Joined, with a binary search that allows unlisted calls at once and
//! answers calls refused outright itself, only the few calls whose arguments matter reach the
//! `seccompiler` programs; the one program is a fraction of the length, and every system call
//! the skill makes afterwards runs it instead of five long ones.
//!
//! Joining keeps the meaning of the stack the kernel would have run, provided the programs come
//! in order of precedence (kills before errors) and the errors cover disjoint calls: the kernel
//! answers with the strongest action any filter returns, the joined program with the first
//! non-allow answer. A test checks the two agree for every call number.

use std::collections::BTreeMap;

use seccompiler::{BpfProgram, sock_filter};

use crate::setup_error::FilterError;

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const BPF_JEQ_K: u16 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JGE_K: u16 = 0x05 | 0x30; // BPF_JMP | BPF_JGE | BPF_K
const BPF_JSET_K: u16 = 0x05 | 0x40; // BPF_JMP | BPF_JSET | BPF_K
const BPF_RET_K: u16 = 0x06;
/// Offset of the system call number in `struct seccomp_data`.
const NR_OFFSET: u32 = 0;
/// Offset of the low half of the first argument (x86_64 is little-endian).
const ARGS_OFFSET: u32 = 16;
/// Up to this many numbers, a branch of the search compares one by one.
const LEAF: usize = 4;

/// What the dispatcher does with a system call it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Answer at once with this seccomp return value, whatever the arguments.
    Return(u32),
    /// Run the programs, which look at the arguments.
    Programs,
    /// Answer `action` if any bit of `mask` is set in the low 32 bits of argument `arg`;
    /// otherwise run the programs (`then_programs`) or allow.
    AnyFlag {
        arg: u8,
        mask: u32,
        action: u32,
        then_programs: bool,
    },
}

/// Joins `guard` (the architecture checks), a dispatcher over `verdicts`, and `programs`, into
/// one program. Calls not in `verdicts` are allowed by the dispatcher, so every number a program
/// treats differently from "allow" must be listed, as [`Verdict::Programs`]. Each program's
/// "allow" becomes a jump to the next program.
pub(crate) fn join(
    guard: &[sock_filter],
    verdicts: &BTreeMap<u32, Verdict>,
    programs: &[BpfProgram],
) -> Result<BpfProgram, FilterError> {
    let mut out = Vec::new();
    append_chained(&mut out, guard);
    out.extend(dispatcher(verdicts)?);
    for (i, program) in programs.iter().enumerate() {
        if i + 1 == programs.len() {
            out.extend_from_slice(program);
        } else {
            append_chained(&mut out, program);
        }
    }
    if programs.is_empty() {
        // Only reached if a verdict asked for programs that do not exist.
        out.push(ret(libc::SECCOMP_RET_ALLOW));
    }
    // The kernel's limit (BPF_MAXINSNS).
    if out.len() > 4096 {
        return Err(FilterError::TooLong(out.len()));
    }
    Ok(out)
}

/// Appends `program` with each "allow" turned into a jump past its end.
fn append_chained(out: &mut BpfProgram, program: &[sock_filter]) {
    let len = program.len();
    out.extend(program.iter().enumerate().map(|(i, ins)| {
        if ins.code == BPF_RET_K && ins.k == libc::SECCOMP_RET_ALLOW {
            // Lands on the first instruction after this program.
            jump(BPF_JA, u32::try_from(len - i - 1).unwrap_or(u32::MAX), 0, 0)
        } else {
            ins.clone()
        }
    }));
}

/// Where a dispatcher instruction goes when its test holds or fails.
#[derive(Clone, Copy)]
enum Dest {
    /// The next instruction.
    Next,
    /// Instruction `n` of the search.
    At(usize),
    /// The answer for `nr`'s verdict, or "allow" for a number not listed.
    Verdict(Option<Verdict>),
}

struct Test {
    code: u16,
    k: u32,
    jt: Dest,
    jf: Dest,
}

/// Loads the call number, searches the listed numbers, and ends in one return per distinct
/// answer ("allow" first) followed by the programs.
fn dispatcher(verdicts: &BTreeMap<u32, Verdict>) -> Result<BpfProgram, FilterError> {
    let numbers: Vec<(u32, Verdict)> = verdicts.iter().map(|(&nr, &v)| (nr, v)).collect();
    let mut tests = Vec::new();
    split(&numbers, &mut tests);
    let mut answers = vec![libc::SECCOMP_RET_ALLOW];
    for v in verdicts.values() {
        if let Verdict::Return(k) = *v
            && !answers.contains(&k)
        {
            answers.push(k);
        }
    }
    // One four-instruction block per flag check, after the answers.
    let flag_checks: Vec<(u32, u8, u32, u32, bool)> = verdicts
        .iter()
        .filter_map(|(&nr, v)| match *v {
            Verdict::AnyFlag {
                arg,
                mask,
                action,
                then_programs,
            } => Some((nr, arg, mask, action, then_programs)),
            _ => None,
        })
        .collect();
    let end = tests.len();
    let blocks = end + answers.len();
    let programs = blocks + 4 * flag_checks.len();
    // Where test `i`, which compares against `nr`, goes for `d`.
    let target = |d: Dest, i: usize, nr: u32| match d {
        Dest::Next => i + 1,
        Dest::At(n) => n,
        Dest::Verdict(None) => end,
        Dest::Verdict(Some(Verdict::Return(k))) => {
            end + answers.iter().position(|&a| a == k).unwrap_or(0)
        }
        Dest::Verdict(Some(Verdict::Programs)) => programs,
        Dest::Verdict(Some(Verdict::AnyFlag { .. })) => {
            blocks + 4 * flag_checks.iter().position(|c| c.0 == nr).unwrap_or(0)
        }
    };
    let mut out = vec![jump(BPF_LD_W_ABS, NR_OFFSET, 0, 0)];
    for (i, t) in tests.iter().enumerate() {
        let offset = |d: Dest| {
            u8::try_from(target(d, i, t.k) - i - 1).map_err(|_| FilterError::TooManyCalls)
        };
        out.push(jump(t.code, t.k, offset(t.jt)?, offset(t.jf)?));
    }
    out.extend(answers.into_iter().map(ret));
    for (n, &(_, arg, mask, action, then_programs)) in flag_checks.iter().enumerate() {
        out.push(jump(BPF_LD_W_ABS, ARGS_OFFSET + 8 * u32::from(arg), 0, 0));
        out.push(jump(BPF_JSET_K, mask, 0, 1));
        out.push(ret(action));
        if then_programs {
            // From the fourth instruction of block `n` to the first program.
            let from = blocks + 4 * n + 3;
            let skip = u32::try_from(programs - from - 1).unwrap_or(u32::MAX);
            out.push(jump(BPF_JA, skip, 0, 0));
        } else {
            out.push(ret(libc::SECCOMP_RET_ALLOW));
        }
    }
    Ok(out)
}

fn split(numbers: &[(u32, Verdict)], out: &mut Vec<Test>) {
    if numbers.len() <= LEAF {
        for (i, &(nr, verdict)) in numbers.iter().enumerate() {
            let last = i + 1 == numbers.len();
            out.push(Test {
                code: BPF_JEQ_K,
                k: nr,
                jt: Dest::Verdict(Some(verdict)),
                jf: if last {
                    Dest::Verdict(None)
                } else {
                    Dest::Next
                },
            });
        }
        return;
    }
    let mid = numbers.len() / 2;
    let at = out.len();
    out.push(Test {
        code: BPF_JGE_K,
        k: numbers[mid].0,
        jt: Dest::Next, // set below, once the lower half's length is known
        jf: Dest::Next,
    });
    split(&numbers[..mid], out);
    out[at].jt = Dest::At(out.len());
    split(&numbers[mid..], out);
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

fn ret(k: u32) -> sock_filter {
    jump(BPF_RET_K, k, 0, 0)
}

#[cfg(test)]
pub(crate) mod eval {
    //! A classic-BPF interpreter for the instructions seccomp filters here use, to check
    //! programs without installing them.

    use seccompiler::sock_filter;

    /// `struct seccomp_data`, as the filter sees it.
    pub(crate) struct Data {
        pub nr: u32,
        pub arch: u32,
        pub args: [u64; 6],
    }

    impl Data {
        fn word(&self, offset: u32) -> u32 {
            let arg = |i: usize, high: bool| {
                let v = self.args[i];
                if high { (v >> 32) as u32 } else { v as u32 }
            };
            match offset {
                0 => self.nr,
                4 => self.arch,
                8 | 12 => 0, // instruction pointer
                o @ 16..=63 => {
                    let i = ((o - 16) / 8) as usize;
                    arg(i, (o - 16) % 8 == 4)
                }
                o => panic!("load from offset {o}"),
            }
        }
    }

    /// Runs `program` on `data`; panics on an instruction it does not know.
    pub(crate) fn run(program: &[sock_filter], data: &Data) -> u32 {
        let mut a: u32 = 0;
        let mut pc = 0usize;
        loop {
            let ins = &program[pc];
            pc += 1;
            let class = ins.code & 0x07;
            match class {
                0x00 => {
                    assert_eq!(ins.code, 0x20, "unknown load {:#x}", ins.code);
                    a = data.word(ins.k);
                }
                0x04 => {
                    assert_eq!(ins.code & 0xf8, 0x50, "unknown ALU op {:#x}", ins.code);
                    a &= ins.k;
                }
                0x05 => {
                    let taken = match ins.code & 0xf0 {
                        0x00 => {
                            pc += ins.k as usize;
                            continue;
                        }
                        0x10 => a == ins.k,
                        0x20 => a > ins.k,
                        0x30 => a >= ins.k,
                        0x40 => a & ins.k != 0,
                        op => panic!("unknown jump {op:#x}"),
                    };
                    pc += usize::from(if taken { ins.jt } else { ins.jf });
                }
                0x06 => return ins.k,
                c => panic!("unknown instruction class {c:#x}"),
            }
        }
    }

    /// What the kernel answers for a stack of filters: the action of highest precedence
    /// (lowest as a signed number), the newest filter's on a tie.
    pub(crate) fn run_stack(programs: &[Vec<sock_filter>], data: &Data) -> u32 {
        let action = |r: u32| (r & libc::SECCOMP_RET_ACTION_FULL) as i32;
        programs
            .iter()
            .rev()
            .map(|p| run(p, data))
            .fold(libc::SECCOMP_RET_ALLOW, |best, r| {
                if action(r) < action(best) { r } else { best }
            })
    }
}
