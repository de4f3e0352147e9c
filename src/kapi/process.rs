// SPDX-License-Identifier: GPL-2.0

//! Processes (thread groups) held by reference: who wrote a staged text, and
//! whether it still exists.

use core::ptr::NonNull;

use super::bindings;

/// A held reference to a thread group's `struct pid`: it stays the same
/// object (though its number may be given to a new process once the old one
/// is gone, so [`Process::nr`] is for log lines only).
///
/// # Invariants
///
/// `self.0` is a `struct pid` on which this value holds one reference.
pub(crate) struct Process(NonNull<bindings::pid>);

// SAFETY: a pid reference may be dropped from any task; the checks read
// RCU-protected task links only.
unsafe impl Send for Process {}
// SAFETY: see `Send`.
unsafe impl Sync for Process {}

impl Process {
    fn from_held(p: *mut bindings::pid) -> Option<Process> {
        // INVARIANT: the shim returned a new reference (or null).
        NonNull::new(p).map(Process)
    }

    /// The calling process.
    pub(crate) fn current() -> Option<Process> {
        // SAFETY: takes a reference to the current task's thread-group pid.
        Self::from_held(unsafe { bindings::ctskip_pid_current() })
    }

    /// The calling process's parent (the shell that ran it).
    pub(crate) fn parent() -> Option<Process> {
        // SAFETY: takes a reference to the real parent's thread-group pid,
        // read under RCU in the shim.
        Self::from_held(unsafe { bindings::ctskip_pid_parent() })
    }

    /// Whether the calling process is this one.
    pub(crate) fn is_current(&self) -> bool {
        // SAFETY: the pid is live while held (invariant).
        unsafe { bindings::ctskip_pid_is_current(self.0.as_ptr()) }
    }

    /// Whether the process still exists.
    pub(crate) fn alive(&self) -> bool {
        // SAFETY: the pid is live while held (invariant).
        unsafe { bindings::ctskip_pid_alive(self.0.as_ptr()) }
    }

    /// Its number as the caller's pid namespace sees it (0 if not visible).
    pub(crate) fn nr(&self) -> i32 {
        // SAFETY: the pid is live while held (invariant).
        unsafe { bindings::ctskip_pid_nr(self.0.as_ptr()) }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SAFETY: drops the reference this value holds (invariant).
        unsafe { bindings::ctskip_pid_put(self.0.as_ptr()) };
    }
}

/// Lets other tasks run if one is waiting for this CPU (`cond_resched()`):
/// a long build over 65,536 rules calls it as it goes, so that a kernel
/// without preemption does not give the CPU to nobody else for seconds.
/// Only where sleeping is allowed (process context, no spinlock or RCU
/// read-side section held), as everywhere a set is built or freed.
pub(crate) fn relax() {
    // SAFETY: cond_resched() has no precondition beyond a context that may
    // sleep, which every caller has (above; the debug kernel's
    // might_resched check enforces it).
    unsafe { bindings::ctskip_cond_resched() }
}

/// Whether the calling process was killed (a fatal signal is pending): a
/// long operation it asked for may stop and change nothing.
pub(crate) fn killed() -> bool {
    // SAFETY: reads the current task's pending signals.
    unsafe { bindings::ctskip_fatal_signal_pending() }
}
