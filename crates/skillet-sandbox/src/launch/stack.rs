//! The stacks the children run on inside the supervisor's memory, each with a guard page,
//! and a few kept from one launch to the next.

#![allow(unsafe_code)] // mmap, mprotect and munmap of the stacks.

use std::ffi::c_void;
use std::io;

/// Size of each child's stack. Pages are only committed when touched; the children use a few.
const STACK_BYTES: usize = 256 * 1024;
/// An unmapped page below each stack, so an overflow faults instead of writing elsewhere.
const GUARD_BYTES: usize = 4096;

/// A stack for a child, with a guard page below it.
pub(crate) struct Stack {
    base: *mut c_void,
    len: usize,
}

// SAFETY: the mapping is plain memory; only the handle that owns it unmaps it.
unsafe impl Send for Stack {}
// SAFETY: as above; `&Stack` exposes nothing but its address.
unsafe impl Sync for Stack {}

/// Addresses of stack mappings kept for the next launches: a fresh mapping costs three system
/// calls, and a page fault for every page a child touches.
static SPARE_STACKS: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());
/// How many spare stacks are kept at most.
const SPARE_STACKS_KEPT: usize = 16;

impl Stack {
    /// A spare stack, or a new one.
    pub(super) fn new() -> io::Result<Stack> {
        match SPARE_STACKS.lock().ok().and_then(|mut s| s.pop()) {
            Some(base) => Ok(Stack {
                base: base as *mut c_void,
                len: STACK_BYTES + GUARD_BYTES,
            }),
            None => Stack::map(),
        }
    }

    fn map() -> io::Result<Stack> {
        let len = STACK_BYTES + GUARD_BYTES;
        // SAFETY: a fresh anonymous mapping at an address the kernel chooses.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = Stack { base, len };
        // SAFETY: the first page of the mapping just made.
        if unsafe { libc::mprotect(base, GUARD_BYTES, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The highest address, 16-byte aligned: stacks grow down.
    pub(super) fn top(&self) -> *mut c_void {
        // SAFETY: one past the end of the mapping, which is page-aligned.
        unsafe { self.base.cast::<u8>().add(self.len).cast() }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // Dropped only once no child runs on it (see `InitMemory`), so it can serve another.
        let kept = SPARE_STACKS.lock().is_ok_and(|mut spare| {
            let room = spare.len() < SPARE_STACKS_KEPT;
            if room {
                spare.push(self.base as usize);
            }
            room
        });
        if !kept {
            // SAFETY: the mapping made in `map`, unmapped once.
            unsafe { libc::munmap(self.base, self.len) };
        }
    }
}
