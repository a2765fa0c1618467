//! What `/proc/PID/stat` says of a process: the one reader of that file for the supervisor,
//! the daemon's peer checks and its queue.
//!
//! Numbers in it are as the reader's pid namespace sees them: a process whose parent or
//! session leader lives outside that namespace (as every process of a container whose sessions
//! began outside it) reads 0 there. Callers treat 0 as "not visible", never as a pid.

use std::io;

/// The fields of `/proc/PID/stat` skillet reads.
///
/// ```
/// let me = skillet_sandbox::ProcStat::read(std::process::id() as i32).unwrap();
/// assert!(!me.has_exited());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// The state letter (`R`, `S`, `Z`, …).
    pub state: char,
    /// The parent's pid; 0 when the parent is outside the reader's pid namespace.
    pub parent: i32,
    /// The session's id; 0 when its leader is outside the reader's pid namespace.
    pub session: i32,
    /// When the process started, in clock ticks since boot.
    pub start_ticks: u64,
}

impl ProcStat {
    /// Reads process `pid` (of this pid namespace).
    pub fn read(pid: i32) -> io::Result<ProcStat> {
        let path = format!("/proc/{pid}/stat");
        let text = std::fs::read_to_string(&path)?;
        ProcStat::parse(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{path} does not read as a process's stat line"),
            )
        })
    }

    /// Parses a `/proc/PID/stat` line.
    pub fn parse(text: &str) -> Option<ProcStat> {
        // The command name (field 2) may hold spaces and parentheses: count from its last `)`.
        let (_, rest) = text.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(ProcStat {
            state: fields.first()?.chars().next()?,
            parent: fields.get(1)?.parse().ok()?,
            session: fields.get(3)?.parse().ok()?,
            start_ticks: fields.get(19)?.parse().ok()?,
        })
    }

    /// Whether the process has ended: a zombie kept until its parent reaps it, or one being
    /// torn down.
    pub fn has_exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Whether process `pid` (of this pid namespace) has exited: no such process, or one the
/// kernel keeps only until its parent reaps it. A pid does not say which process it was: the
/// caller knows it is one it saw alive.
pub fn has_exited(pid: i32) -> bool {
    ProcStat::read(pid).map_or(true, |stat| stat.has_exited())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let line = "4242 (a) b (c) S 17 4242 4200 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 \
                    1000 10 18446744073709551615";
        let stat = ProcStat::parse(line).unwrap();
        assert_eq!(
            stat,
            ProcStat {
                state: 'S',
                parent: 17,
                session: 4200,
                start_ticks: 987654,
            }
        );
        assert!(!stat.has_exited());
        assert!(ProcStat::parse("4242 (cut short) Z 1").is_none());
        assert!(ProcStat::parse("no parenthesis at all").is_none());
    }

    #[test]
    fn this_process_reads_as_alive_and_a_pid_never_used_as_gone() {
        let me = ProcStat::read(std::process::id() as i32).unwrap();
        // The main thread's state: it may be waiting for this test's thread.
        assert!(!me.has_exited(), "{me:?}");
        assert!(me.start_ticks > 0 && me.parent >= 0);
        assert!(!has_exited(std::process::id() as i32));
        assert!(has_exited(i32::MAX));
    }
}
