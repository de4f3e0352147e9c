// SPDX-License-Identifier: GPL-2.0

//! /proc/net/ctskip: the reader's own netns counters, one `name value` per
//! line (mode 0444; readers from another netns need CAP_NET_ADMIN over it).

use core::fmt::Write;

use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;

use crate::bindings;
use crate::counters::STAT_NAMES;
use crate::pernet;
use crate::rules::print::SliceWriter;

unsafe extern "C" fn show(seq: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: a /proc/net single_open file: the seq_file's netns is live
    // (the open file holds a reference).
    let net = unsafe { bindings::ctskip_seq_net(seq) };
    // A reader sees its own netns's figures (or, with CAP_NET_ADMIN over the
    // netns's owner, those of a netns below it); not another container's
    // through /proc/PID/net.
    // SAFETY: `net` is live (see above); the check reads the current task.
    if !unsafe { bindings::ctskip_may_read_net(net) } {
        return EACCES.to_errno();
    }
    // SAFETY: our pernet data exists while the file does.
    let ns = unsafe { &*pernet::state(net) };
    let mut buf = [0u8; 512];
    let mut w = SliceWriter::new(&mut buf);
    for (i, name) in STAT_NAMES.iter().enumerate() {
        if writeln!(w, "{} {}", name, ns.stats().sum(i as u32)).is_err() {
            return ENOMEM.to_errno();
        }
    }
    let n = w.len();
    // SAFETY: `seq` is the live seq_file of this read; `buf[..n]` is ours.
    unsafe { bindings::seq_write(seq, buf.as_ptr().cast(), n) }
}

/// Creates /proc/net/ctskip in `net`.
///
/// # Safety
///
/// `net` must be live and our pernet data set up for it.
pub(crate) unsafe fn create(net: *mut bindings::net) -> Result {
    // SAFETY: `net` is live (caller); the name is a static C string.
    let pde = unsafe {
        let dir = bindings::ctskip_proc_net(net);
        bindings::proc_create_net_single(c"ctskip".as_ptr().cast(), 0o444, dir, Some(show), core::ptr::null_mut())
    };
    if pde.is_null() {
        return Err(ENOMEM);
    }
    Ok(())
}

/// Removes /proc/net/ctskip from `net`, waiting for its readers.
///
/// # Safety
///
/// `net` must be live and the file created by [`create`].
pub(crate) unsafe fn remove(net: *mut bindings::net) {
    // SAFETY: `net` is live (caller); remove_proc_entry() waits for readers.
    unsafe { bindings::remove_proc_entry(c"ctskip".as_ptr().cast(), bindings::ctskip_proc_net(net)) };
}
