//! The program a child executes, prepared as C data before the clone (see launch/): argv,
//! envp, the `PATH` search, the working directory and the three standard streams. The child
//! only reads it.

#![allow(unsafe_code)] // dup2 and execve in the child.

use std::ffi::{CString, OsStr, OsString, c_char, c_int};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::child::last_errno;

/// `execvp`'s search path when the environment has no `PATH`.
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// Where a child's standard stream comes from.
pub(crate) enum ChildStdio {
    /// This process's own descriptor of the same number.
    Inherit,
    /// `/dev/null`.
    Null,
    /// A new pipe; the supervisor keeps the other end.
    Pipe,
}

/// The program to execute and everything `execve` needs, as C data made before the clone.
pub(crate) struct ExecPlan {
    /// Paths to try in order (the `PATH` search, done the way `execvp` does it).
    candidates: Vec<CString>,
    /// For each candidate, `/bin/sh CANDIDATE ARGS…`: what `execvp` runs when a file without
    /// a `#!` line is refused as not executable (ENOEXEC).
    sh_argvs: Vec<Vec<*const c_char>>,
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    envp_ptrs: Vec<*const c_char>,
    /// Directory to enter first; `None` when a private root sets it.
    cwd: Option<CString>,
    /// The descriptors the child places at 0, 1 and 2 (`None`: keep its own).
    child_ends: [Option<OwnedFd>; 3],
    /// The supervisor's ends of the pipes, by stream.
    pub parent_ends: [Option<OwnedFd>; 3],
    /// What the seccomp filter lets exec with (see syscall_filter.rs).
    exec_key: [u64; 3],
    /// A copy of the descriptor the program inherits at [`crate::INHERITED_FD`], numbered
    /// above it so placing it never overwrites itself.
    inherited: Option<OwnedFd>,
}

impl ExecPlan {
    /// Prepares `program` with `args` and exactly the environment `env` (a later entry of a
    /// name wins), in `cwd` when given, with the three standard streams as `stdio` says.
    pub(crate) fn new(
        program: &OsStr,
        args: &[OsString],
        env: &[(OsString, OsString)],
        cwd: Option<&Path>,
        stdio: [ChildStdio; 3],
    ) -> io::Result<Self> {
        let c = |s: &OsStr| {
            CString::new(s.as_bytes()).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an argument contains a NUL byte",
                )
            })
        };
        let mut vars: Vec<(&OsStr, &OsStr)> = Vec::with_capacity(env.len());
        for (k, v) in env {
            match vars.iter_mut().find(|(name, _)| *name == k.as_os_str()) {
                Some(slot) => slot.1 = v,
                None => vars.push((k, v)),
            }
        }
        let envp = vars
            .iter()
            .map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                c(OsStr::from_bytes(&kv))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let argv = std::iter::once(program)
            .chain(args.iter().map(OsString::as_os_str))
            .map(c)
            .collect::<io::Result<Vec<_>>>()?;
        let candidates = if program.as_bytes().contains(&b'/') {
            vec![c(program)?]
        } else {
            let path = vars
                .iter()
                .find(|(k, _)| k.as_bytes() == b"PATH")
                .map_or(DEFAULT_PATH, |(_, v)| v.as_bytes());
            path.split(|&b| b == b':')
                .map(|dir| {
                    let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
                    let mut full = dir.to_vec();
                    full.push(b'/');
                    full.extend_from_slice(program.as_bytes());
                    c(OsStr::from_bytes(&full))
                })
                .collect::<io::Result<Vec<_>>>()?
        };
        let mut child_ends: [Option<OwnedFd>; 3] = [None, None, None];
        let mut parent_ends: [Option<OwnedFd>; 3] = [None, None, None];
        for (i, how) in stdio.into_iter().enumerate() {
            match how {
                ChildStdio::Inherit => {}
                ChildStdio::Null => {
                    let flags = if i == 0 {
                        rustix::fs::OFlags::RDONLY
                    } else {
                        rustix::fs::OFlags::WRONLY
                    };
                    let null = rustix::fs::open(
                        c"/dev/null",
                        flags | rustix::fs::OFlags::CLOEXEC,
                        rustix::fs::Mode::empty(),
                    )?;
                    child_ends[i] = Some(above_stdio(null)?);
                }
                ChildStdio::Pipe => {
                    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
                    let (child, parent) = if i == 0 { (read, write) } else { (write, read) };
                    child_ends[i] = Some(above_stdio(child)?);
                    parent_ends[i] = Some(parent);
                }
            }
        }
        let nul_terminated = |v: &[CString]| {
            v.iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect::<Vec<_>>()
        };
        let sh_argvs = candidates
            .iter()
            .map(|path| {
                [c"/bin/sh".as_ptr(), path.as_ptr()]
                    .into_iter()
                    .chain(argv.iter().skip(1).map(|a| a.as_ptr()))
                    .chain(std::iter::once(std::ptr::null()))
                    .collect()
            })
            .collect();
        Ok(ExecPlan {
            candidates,
            sh_argvs,
            argv_ptrs: nul_terminated(&argv),
            envp_ptrs: nul_terminated(&envp),
            _argv: argv,
            _envp: envp,
            cwd: cwd.map(|p| c(p.as_os_str())).transpose()?,
            child_ends,
            parent_ends,
            exec_key: crate::syscall_filter::exec_key()?,
            inherited: None,
        })
    }

    /// Hands the program a copy of `fd` at [`crate::INHERITED_FD`].
    pub(crate) fn inheriting(mut self, fd: Option<&crate::InheritedFd>) -> io::Result<Self> {
        if let Some(fd) = fd {
            let above = crate::INHERITED_FD + 1;
            self.inherited = Some(rustix::io::fcntl_dupfd_cloexec(fd, above)?);
        }
        Ok(self)
    }

    /// In the child, once nothing else needs a descriptor of its own (Landlock is applied):
    /// puts the inherited descriptor at [`crate::INHERITED_FD`], without close-on-exec.
    /// Returns the first descriptor the program must not inherit.
    pub(crate) fn place_inherited(&self) -> Result<c_int, i32> {
        let Some(fd) = &self.inherited else {
            return Ok(crate::INHERITED_FD);
        };
        // SAFETY: dup2 takes integers; the source is above the target (see `inheriting`), and
        // whatever the child held at the target is a copy it no longer needs.
        if unsafe { libc::dup2(fd.as_raw_fd(), crate::INHERITED_FD) } == -1 {
            return Err(last_errno());
        }
        Ok(crate::INHERITED_FD + 1)
    }

    /// In the child: puts the streams in place and enters the working directory.
    pub(crate) fn prepare_child(&self) -> Result<(), i32> {
        for (target, end) in self.child_ends.iter().enumerate() {
            if let Some(fd) = end {
                // SAFETY: dup2 takes integers; the target is one of 0, 1, 2, never a source (every
                // source is above 2, see `above_stdio`).
                if unsafe { libc::dup2(fd.as_raw_fd(), target as c_int) } == -1 {
                    return Err(last_errno());
                }
            }
        }
        if let Some(cwd) = &self.cwd {
            rustix::process::chdir(cwd.as_c_str()).map_err(|e| e.raw_os_error())?;
        }
        Ok(())
    }

    /// In the child, as the last step: executes the program, trying each candidate path as
    /// `execvp` does. Returns only on failure, with the errno to report.
    pub(crate) fn exec(&self) -> i32 {
        let mut denied = false;
        let mut last = libc::ENOENT;
        for (path, sh_argv) in self.candidates.iter().zip(&self.sh_argvs) {
            // SAFETY: every pointer is to a NUL-terminated string the plan owns (or a literal),
            // and every array ends with a null pointer.
            unsafe {
                self.execve_settled(path.as_ptr(), self.argv_ptrs.as_ptr());
                if last_errno() == libc::ENOEXEC {
                    self.execve(c"/bin/sh".as_ptr(), sh_argv.as_ptr());
                    return libc::ENOEXEC;
                }
            };
            last = last_errno();
            match last {
                libc::EACCES => denied = true,
                libc::ENOENT | libc::ENOTDIR | libc::ELOOP | libc::ENAMETOOLONG => {}
                _ => return last,
            }
        }
        if denied { libc::EACCES } else { last }
    }

    /// [`Self::execve`], tried again for a while when the file is still open for writing
    /// (`ETXTBSY`): a script just written is often still open in a process that forked while
    /// the writer held it, until that process executes or exits.
    ///
    /// # Safety
    /// As [`Self::execve`].
    unsafe fn execve_settled(&self, path: *const c_char, argv: *const *const c_char) {
        let pause = libc::timespec {
            tv_sec: 0,
            tv_nsec: 5_000_000,
        };
        for _ in 0..40 {
            // SAFETY: as the caller promises.
            unsafe { self.execve(path, argv) };
            if last_errno() != libc::ETXTBSY {
                return;
            }
            // SAFETY: `pause` is a valid timespec; no remainder is asked for.
            unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
        }
        // SAFETY: as the caller promises.
        unsafe { self.execve(path, argv) };
    }

    /// `execve` with the exec key in the three argument registers the kernel ignores, which
    /// the seccomp filter of `allow_spawn: false` requires (see syscall_filter.rs).
    ///
    /// # Safety
    /// `path` and every element of `argv` are NUL-terminated strings and `argv` ends with a
    /// null pointer, all alive for the call.
    unsafe fn execve(&self, path: *const c_char, argv: *const *const c_char) {
        let [a, b, c] = self.exec_key;
        // SAFETY: as the caller promises; the extra arguments are plain integers.
        unsafe {
            libc::syscall(
                libc::SYS_execve,
                path,
                argv,
                self.envp_ptrs.as_ptr(),
                a,
                b,
                c,
            )
        };
    }
}

/// Moves `fd` above 0, 1 and 2, so placing the streams never overwrites a source still to be
/// placed.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    Ok(rustix::io::fcntl_dupfd_cloexec(&fd, 3)?)
}
