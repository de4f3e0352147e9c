// SPDX-License-Identifier: GPL-2.0

//! A /proc/net file per netns, a single-shot text whose show callback gets
//! its data from the entry. Who may open it is decided at open, with the
//! opener's own credentials (see `ctskip_proc_create` in the shim): a reader
//! in the netns, or one with CAP_NET_ADMIN over the user namespace owning
//! it; anyone else gets EACCES.

use core::ffi::CStr;
use core::marker::PhantomData;
use core::ptr::NonNull;

use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::sync::Arc;

use super::bindings;
use super::pernet::Net;

/// The text of a file being read.
pub(crate) struct SeqFile(*mut bindings::seq_file);

impl SeqFile {
    /// Appends `data` to the text (on overflow the seq_file core notices
    /// and calls the show again with a larger buffer).
    pub(crate) fn write(&mut self, data: &[u8]) {
        // SAFETY: the seq_file is live for the show call that made `self`.
        let _ = unsafe { bindings::seq_write(self.0, data.as_ptr().cast(), data.len()) };
    }
}

/// What a /proc/net file shows.
pub(crate) trait Show {
    /// The entry's data.
    type Data: Send + Sync;
    /// Writes the file's text for a reader of `net` (the open already
    /// checked that the reader may see it).
    fn show(data: &Self::Data, net: &Net, out: &mut SeqFile) -> Result;
}

/// # Safety
///
/// Called by the seq_file core for a file opened on a live [`ProcFile<S>`].
unsafe extern "C" fn show_cb<S: Show>(seq: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: the file was opened on an entry made by `ProcFile::<S>::create`:
    // its netns and data outlive the entry, and removing the entry waits for
    // this call and closes the file.
    let r = unsafe {
        let net = Net::from_raw(bindings::ctskip_seq_net(seq));
        let data = &*bindings::ctskip_seq_data(seq).cast::<S::Data>();
        S::show(data, net, &mut SeqFile(seq))
    };
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// /proc/net/NAME in one netns; removed when dropped.
///
/// # Invariants
///
/// `entry` is a live entry made by `ctskip_proc_create` in a netns that
/// outlives this value, showing `data`'s value.
pub(crate) struct ProcFile<S: Show> {
    entry: NonNull<bindings::ctskip_proc>,
    data: Arc<S::Data>,
    _s: PhantomData<S>,
}

// SAFETY: the entry may be removed from any task (pernet callbacks).
unsafe impl<S: Show> Send for ProcFile<S> {}
// SAFETY: `&ProcFile` offers nothing.
unsafe impl<S: Show> Sync for ProcFile<S> {}

impl<S: Show> ProcFile<S> {
    /// Creates /proc/net/`name` in `net`, showing `data`.
    ///
    /// `net` must outlive the file: create it from pernet `init` and drop it
    /// by pernet `exit` at the latest.
    pub(crate) fn create(
        net: &Net,
        name: &'static CStr,
        mode: u16,
        data: Arc<S::Data>,
    ) -> Result<Self> {
        // SAFETY: `net` is live and outlives the entry (caller); the name is
        // static; the data pointer stays valid while the entry exists (we
        // hold the `Arc`).
        let entry = unsafe {
            bindings::ctskip_proc_create(
                super::char_ptr(name),
                mode,
                net.as_ptr(),
                Some(show_cb::<S>),
                core::ptr::from_ref::<S::Data>(&*data).cast_mut().cast(),
            )
        };
        let entry = NonNull::new(entry).ok_or(ENOMEM)?;
        // INVARIANT: created just above over `data`, in `net`.
        Ok(ProcFile {
            entry,
            data,
            _s: PhantomData,
        })
    }
}

impl<S: Show> Drop for ProcFile<S> {
    fn drop(&mut self) {
        // SAFETY: the entry is live (invariant) and removed once; removal
        // waits for its callers and closes its open files before `data`
        // goes.
        unsafe { bindings::ctskip_proc_remove(self.entry.as_ptr()) };
        let _ = &self.data;
    }
}
