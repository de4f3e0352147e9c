// SPDX-License-Identifier: GPL-2.0

//! Open files as sysfs callbacks see them, and held references to them.
//!
//! sysfs gives attributes no release callback, so ctskip cannot be told when
//! a writer closes its file. It holds a reference instead ([`FileRef`]): the
//! file then stays the same object (its address is not reused) and, once the
//! reference held here is the only one left, every process has closed it.

use core::ptr::NonNull;

use kernel::types::Opaque;

use super::bindings;

/// An open file, borrowed for the duration of a callback.
///
/// # Invariants
///
/// The wrapped `struct file` is live for the lifetime of the reference.
#[repr(transparent)]
pub(crate) struct File(Opaque<bindings::file>);

impl File {
    /// Borrows the file that a callback was handed.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a live `struct file` for the lifetime `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::file) -> &'a File {
        // SAFETY: `File` is a transparent wrapper of `struct file`, live for
        // `'a` (caller).
        unsafe { &*ptr.cast::<File>() }
    }

    fn as_ptr(&self) -> *mut bindings::file {
        self.0.get()
    }

    /// Takes a reference to the file.
    pub(crate) fn hold(&self) -> FileRef {
        // SAFETY: the file is live (type invariant); get_file() takes one
        // more reference, which `FileRef` drops.
        unsafe { bindings::ctskip_file_get(self.as_ptr()) };
        // INVARIANT: one reference taken just above.
        FileRef(NonNull::new(self.as_ptr()).expect("a live file is not null"))
    }

    /// Whether the file was opened for writing.
    pub(crate) fn writable(&self) -> bool {
        // SAFETY: the file is live (type invariant); reads `f_mode`.
        unsafe { bindings::ctskip_file_writable(self.as_ptr()) }
    }

    /// Whether whoever opened the file had CAP_NET_ADMIN in the initial user
    /// namespace (the opener's credentials, not the caller's: a descriptor
    /// handed to another process keeps its opener's rights).
    pub(crate) fn opener_is_net_admin(&self) -> bool {
        // SAFETY: the file is live (type invariant); the check reads its
        // `f_cred`.
        unsafe { bindings::ctskip_file_net_admin(self.as_ptr()) }
    }
}

/// A held reference to an open file.
///
/// # Invariants
///
/// `self.0` is a live file on which this value holds one reference.
pub(crate) struct FileRef(NonNull<bindings::file>);

// SAFETY: a file reference may be dropped (fput) from any task, and the
// checks made through it only read atomic counts.
unsafe impl Send for FileRef {}
// SAFETY: see `Send`; `&FileRef` offers only reads of the file's identity
// and reference count.
unsafe impl Sync for FileRef {}

impl FileRef {
    /// Whether `file` is the file held here.
    pub(crate) fn is(&self, file: &File) -> bool {
        self.0.as_ptr() == file.as_ptr()
    }

    /// Whether every other holder (every process's descriptor) has let go of
    /// the file: the writer closed it.
    pub(crate) fn closed_elsewhere(&self) -> bool {
        // SAFETY: the file is live while we hold our reference (invariant).
        unsafe { bindings::ctskip_file_count(self.0.as_ptr()) <= 1 }
    }
}

impl Drop for FileRef {
    fn drop(&mut self) {
        // SAFETY: drops the reference taken in `File::hold` (invariant);
        // fput() defers the release work, so any process context may call it.
        unsafe { bindings::ctskip_file_put(self.0.as_ptr()) };
    }
}
