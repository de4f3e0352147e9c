// SPDX-License-Identifier: GPL-2.0

//! A /proc/net file per netns, single-shot text (`proc_create_net_single`),
//! whose show callback gets its data through the entry's own data pointer.

use core::ffi::CStr;
use core::marker::PhantomData;

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
    /// Writes the file's text for a reader of `net`.
    fn show(data: &Self::Data, net: &Net, out: &mut SeqFile) -> Result;
}

/// # Safety
///
/// Called by the seq_file core for a file of a live [`ProcFile<S>`].
unsafe extern "C" fn show_cb<S: Show>(seq: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: a single_open net file: the seq_file's netns is held by the
    // open file, and the entry's data is the `S::Data` of its `ProcFile`,
    // which removes the entry (waiting for readers) before dropping it.
    let r = unsafe {
        let net = Net::from_raw(bindings::ctskip_seq_net(seq));
        let data = &*bindings::ctskip_seq_pde_data(seq).cast::<S::Data>();
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
/// The entry exists in `net`'s /proc/net and points at `data`'s value.
pub(crate) struct ProcFile<S: Show> {
    net: *mut bindings::net,
    name: &'static CStr,
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
        // SAFETY: `net` is live; the name is static; the data pointer stays
        // valid while the entry exists (we hold the `Arc`).
        let pde = unsafe {
            let dir = bindings::ctskip_proc_net(net.as_ptr());
            bindings::proc_create_net_single(
                super::char_ptr(name),
                mode,
                dir,
                Some(show_cb::<S>),
                core::ptr::from_ref::<S::Data>(&*data).cast_mut().cast(),
            )
        };
        if pde.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: created just above over `data`.
        Ok(ProcFile {
            net: net.as_ptr(),
            name,
            data,
            _s: PhantomData,
        })
    }
}

impl<S: Show> Drop for ProcFile<S> {
    fn drop(&mut self) {
        // SAFETY: the entry exists in `net` (invariant), which is live until
        // pernet exit ends; remove_proc_entry() waits for its readers.
        unsafe {
            bindings::remove_proc_entry(
                super::char_ptr(self.name),
                bindings::ctskip_proc_net(self.net),
            )
        };
        let _ = &self.data;
    }
}
