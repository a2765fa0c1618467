//! The supervisor's handle on the process [`crate::launch`] started: waiting for it through
//! its pidfd, signalling it, and reaping it exactly once.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::process::{Signal, WaitId, WaitIdOptions, WaitIdStatus};
use tokio::io::unix::AsyncFd;

use crate::Exit;
use crate::launch::{InitMemory, KillFirst, Launched};

/// A child of this process, until it has been reaped.
pub(crate) struct ChildProcess {
    pid: i32,
    pidfd: AsyncFd<OwnedFd>,
    /// What ending the run kills first.
    kill_first: KillFirst,
    /// Init's stacks and report, with namespaces: freed only once init is reaped, since until
    /// then it runs in this process's memory.
    init: Option<InitMemory>,
    exit: Option<Exit>,
}

impl std::fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildProcess")
            .field("pid", &self.pid)
            .field("exit", &self.exit)
            .finish_non_exhaustive()
    }
}

impl ChildProcess {
    /// Takes over a launched process; needs a Tokio runtime with I/O enabled. Without one the
    /// run is ended and reaped, and an error returned.
    pub(crate) fn new(launched: Launched) -> io::Result<ChildProcess> {
        let Launched {
            pid,
            pidfd,
            kill_first,
            init,
            ..
        } = launched;
        // Tokio panics, rather than failing, when there is no runtime or it has no I/O driver.
        // The panic must not unwind past here: it would free init's stack and report while init
        // still runs on them.
        let registered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: the pidfd is owned, and so stays open and the same until the AsyncFd
            // drops.
            #[allow(unsafe_code)]
            unsafe {
                AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE)
            }
        }));
        let pidfd = match registered {
            Ok(Ok(pidfd)) => pidfd,
            Ok(Err(e)) => {
                // Not to be waited for, the run must still end before init's memory is freed:
                // kill init (with it the namespace, or by parent-death signal the program).
                let (pidfd, error) = e.into_parts();
                if !crate::launch::reap_now(&pidfd) {
                    std::mem::forget(init);
                }
                return Err(error);
            }
            Err(_) => {
                // The pidfd went with the panic, but init is this process's child: its pid
                // stays its own until it is reaped here.
                if !reap_by_pid(pid) {
                    std::mem::forget(init);
                }
                return Err(io::Error::other(NO_RUNTIME));
            }
        };
        Ok(ChildProcess {
            pid,
            pidfd,
            kill_first,
            init,
            exit: None,
        })
    }

    /// Its process id, until it has been reaped.
    pub(crate) fn id(&self) -> Option<u32> {
        self.exit.is_none().then_some(self.pid as u32)
    }

    /// Waits for it to end (its pidfd becomes readable) and reaps it.
    pub(crate) async fn wait(&mut self) -> io::Result<Exit> {
        loop {
            if let Some(exit) = self.try_wait()? {
                return Ok(exit);
            }
            let mut ready = self.pidfd.readable().await?;
            ready.clear_ready();
        }
    }

    /// How it ended, reaping it, if it has; never blocks.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<Exit>> {
        self.reap(WaitIdOptions::EXITED | WaitIdOptions::NOHANG)
    }

    /// Ends the run: SIGKILL to init with namespaces (the kernel then ends the namespaces),
    /// or to the program without (init kills what is left). Through pidfds: never to a process
    /// that reused an id.
    pub(crate) fn start_kill(&self) {
        if self.exit.is_some() {
            return;
        }
        let target = match &self.kill_first {
            KillFirst::Program(Some(program)) => program,
            // Without the program's pidfd, init: its death takes the program along (parent-death
            // signal), though not what the program left.
            KillFirst::Program(None) | KillFirst::Init => self.pidfd.get_ref(),
        };
        let _ = rustix::process::pidfd_send_signal(target.as_fd(), Signal::KILL);
    }

    /// Kills the program and what it left but, with namespaces, not init, so that init reaps
    /// them and their CPU time reaches the supervisor through it: once init dies the kernel
    /// reaps what is left in the namespace itself, and that time is lost. Init exits as soon as
    /// it has reaped the program. Without namespaces this is [`ChildProcess::start_kill`],
    /// which already spares init, the subreaper.
    pub(crate) fn stop_program(&self) {
        if self.exit.is_some() {
            return;
        }
        if !matches!(self.kill_first, KillFirst::Init) {
            return self.start_kill();
        }
        let list = format!("/proc/{0}/task/{0}/children", self.pid);
        let Ok(children) = std::fs::read_to_string(list) else {
            // Without the list (no CONFIG_PROC_CHILDREN), the old way: init and all at once.
            return self.start_kill();
        };
        for pid in children
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
            .filter_map(rustix::process::Pid::from_raw)
        {
            // Init may reap a child between the list and here, and its id be reused: the
            // pidfd pins one process, signalled only if it is still init's child.
            let Ok(pidfd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
            else {
                continue;
            };
            if crate::ProcStat::read(pid.as_raw_pid()).is_ok_and(|stat| stat.parent == self.pid) {
                let _ = rustix::process::pidfd_send_signal(&pidfd, Signal::KILL);
            }
        }
    }

    /// Ends the run and waits for it, blocking the thread: for drops outside the runtime.
    pub(crate) fn kill_and_reap_blocking(&mut self) {
        self.start_kill();
        loop {
            match self.reap(WaitIdOptions::EXITED) {
                Ok(_) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // Not reaped: init may still be running in this process's memory, so
                    // its stack and report must never be freed.
                    std::mem::forget(self.init.take());
                    return;
                }
            }
        }
    }

    fn reap(&mut self, options: WaitIdOptions) -> io::Result<Option<Exit>> {
        if let Some(exit) = self.exit {
            return Ok(Some(exit));
        }
        let status = loop {
            match rustix::process::waitid(WaitId::PidFd(self.pidfd.get_ref().as_fd()), options) {
                Ok(status) => break status,
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        };
        let Some(status) = status.filter(|s| s.exited() || s.killed() || s.dumped()) else {
            return Ok(None);
        };
        // With namespaces the process is init: the program's own status is in the report.
        let exit = self
            .init
            .take()
            .and_then(|init| init.report.program_status())
            .map_or_else(|| exit_of(&status), exit_of_raw);
        self.exit = Some(exit);
        Ok(Some(exit))
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if self.exit.is_none() {
            self.kill_and_reap_blocking();
        }
    }
}

/// Why a run cannot be supervised here.
pub(crate) const NO_RUNTIME: &str = "a confined process must be started inside a Tokio runtime with I/O enabled (tokio::runtime::Builder::enable_io)";

/// Kills this process's child `pid` and reaps it; says whether it was reaped.
fn reap_by_pid(pid: i32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    let _ = rustix::process::kill_process(pid, Signal::KILL);
    loop {
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
            Err(rustix::io::Errno::INTR) => {}
            done => return done.is_ok(),
        }
    }
}

fn exit_of(status: &WaitIdStatus) -> Exit {
    match (status.exit_status(), status.terminating_signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(sig)) => Exit::Signal(sig),
        (None, None) => Exit::Code(-1),
    }
}

/// A raw wait status, as `waitpid` gives it.
fn exit_of_raw(status: i32) -> Exit {
    if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(-1)
    }
}
