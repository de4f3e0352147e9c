// SPDX-License-Identifier: GPL-2.0

//! Control files under /sys/kernel/ctskip/.
//!
//! - `rules` (0644): the active rules, canonical, one per line; a write
//!   replaces the whole set.
//! - `add`, `del` (0200): add or remove the rules of the written text.
//! - `enabled` (0644): `1` or `0`.
//! - `hits` (0444): `PACKETS BYTES RULE` per active rule.
//! - `stage` (0200): a new set of any size, written in as many pieces as the
//!   kernel cares to hand over; `commit` (0200): `1` replaces the active set
//!   with the staged text, all or nothing, `0` discards it.
//!
//! `rules` and `hits` are binary attributes so that sets larger than a page
//! read in full; a write to `rules`, `add`, `del` is always one complete text
//! of less than a page (a longer one is refused with E2BIG before anything is
//! applied, since the kernel would hand it over in pieces): larger sets go
//! through `stage`. Writers need CAP_NET_ADMIN in the initial user namespace.

use core::ptr::{addr_of_mut, null_mut};

use kernel::alloc::KVVec;
use kernel::error::from_result;
use kernel::ffi::c_char;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;

use crate::bindings;
use crate::hook::enabled;
use crate::ruleset::{self, Locked, Op};

type Kobj = bindings::kobject;
type KAttr = bindings::kobj_attribute;
type BinAttr = bindings::bin_attribute;
/// The attribute argument of bin_attribute callbacks (const since 6.16).
#[cfg(ctskip_const_bin_attr)]
type BinAttrArg = *const BinAttr;
#[cfg(not(ctskip_const_bin_attr))]
type BinAttrArg = *mut BinAttr;

/// Checks the writer's privilege (one log line on error).
fn check_cap(file: &str) -> Result {
    // SAFETY: capable() only inspects the current task's credentials.
    if !unsafe { bindings::capable(bindings::CAP_NET_ADMIN as i32) } {
        pr_err!("{}: permission denied (needs CAP_NET_ADMIN in the initial user namespace)\n", file);
        return Err(EPERM);
    }
    Ok(())
}

/// Checks the writer's privilege and the write's size (one log line on error).
fn check_write(file: &str, count: usize) -> Result {
    check_cap(file)?;
    if count >= PAGE_SIZE {
        pr_err!("{}: write of {} bytes is too large (at most {}; use several add writes)\n", file, count, PAGE_SIZE - 1);
        return Err(E2BIG);
    }
    Ok(())
}

/// The written bytes.
///
/// # Safety
///
/// `buf` must point at `count` readable bytes for the returned lifetime.
unsafe fn written<'a>(buf: *const c_char, count: usize) -> &'a [u8] {
    // SAFETY: as the caller promises; sysfs passes its own kernel buffer.
    unsafe { core::slice::from_raw_parts(buf.cast(), count) }
}

fn write_rules(op: Op, buf: *const c_char, count: usize) -> Result<isize> {
    check_write(op.name(), count)?;
    // SAFETY: sysfs hands us `count` bytes at `buf` for this call.
    ruleset::apply(op, op.name(), unsafe { written(buf, count) })?;
    Ok(count as isize)
}

unsafe extern "C" fn rules_read(
    _f: *mut bindings::file,
    _k: *mut Kobj,
    _a: BinAttrArg,
    buf: *mut c_char,
    off: bindings::loff_t,
    count: usize,
) -> isize {
    // SAFETY: sysfs hands us a writable buffer of `count` bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), count) };
    ruleset::read_rules(off.max(0) as usize, out) as isize
}

unsafe extern "C" fn rules_write(
    _f: *mut bindings::file,
    _k: *mut Kobj,
    _a: BinAttrArg,
    buf: *mut c_char,
    _off: bindings::loff_t,
    count: usize,
) -> isize {
    from_result(|| write_rules(Op::Replace, buf, count))
}

/// The last rendering of `hits`, kept for the reads that follow the first
/// one of an open file (a large set is read a page at a time).
struct HitsSnapshot {
    file: *mut bindings::file,
    text: KVVec<u8>,
}

/// Guarded by the writers' lock.
static mut HITS_SNAPSHOT: Option<HitsSnapshot> = None;

unsafe extern "C" fn hits_read(
    file: *mut bindings::file,
    _k: *mut Kobj,
    _a: BinAttrArg,
    buf: *mut c_char,
    off: bindings::loff_t,
    count: usize,
) -> isize {
    from_result(|| {
        let off = off.max(0) as usize;
        let lock = Locked::new();
        // SAFETY: `HITS_SNAPSHOT` is only used with the writers' lock held.
        let snap = unsafe { &mut *addr_of_mut!(HITS_SNAPSHOT) };
        // A read from the start (or by another file) takes a new snapshot;
        // later reads of the same file continue the one they started.
        if !matches!(snap, Some(s) if off != 0 && s.file == file) {
            *snap = Some(HitsSnapshot { file, text: ruleset::render_hits(&lock)? });
        }
        let text = &snap.as_ref().map_or(&[][..], |s| &s.text[..]);
        // SAFETY: sysfs hands us a writable buffer of `count` bytes.
        let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), count) };
        Ok(ruleset::copy_window(text, off, out) as isize)
    })
}

/// The most a staged text may hold: 65,536 rules of up to about 250 bytes.
const STAGE_MAX: usize = 16 << 20;

/// A staged rule text, written to `stage` by one open file.
struct Stage {
    file: *mut bindings::file,
    text: KVVec<u8>,
}

/// Guarded by the writers' lock.
static mut STAGE: Option<Stage> = None;

/// Appends one piece to the staged text. A write at offset 0 starts a new
/// text (discarding an uncommitted one); later pieces must continue it from
/// the same open file. Any error discards the staged text, so that a commit
/// never applies part of one.
fn stage_write(file: *mut bindings::file, off: bindings::loff_t, data: &[u8]) -> Result<isize> {
    check_cap("stage")?;
    let _lock = Locked::new();
    // SAFETY: `STAGE` is only used with the writers' lock held.
    let stage = unsafe { &mut *addr_of_mut!(STAGE) };
    let off = off.max(0) as usize;
    if off == 0 {
        *stage = Some(Stage { file, text: KVVec::new() });
    }
    let Some(st) = stage.as_mut() else {
        pr_err!("stage: write at offset {} but nothing is being staged (start at offset 0)\n", off);
        return Err(EINVAL);
    };
    if st.file != file {
        pr_err!("stage: another writer is staging (one at a time)\n");
        return Err(EBUSY);
    }
    let r = if off != st.text.len() {
        pr_err!("stage: write at offset {} does not continue the staged text of {} bytes\n", off, st.text.len());
        Err(EINVAL)
    } else if st.text.len() + data.len() > STAGE_MAX {
        pr_err!("stage: staged text would exceed {} bytes\n", STAGE_MAX);
        Err(EFBIG)
    } else {
        st.text.extend_from_slice(data, GFP_KERNEL).inspect_err(|_| pr_err!("stage: out of memory\n")).map_err(Error::from)
    };
    if r.is_err() {
        *stage = None;
    }
    r.map(|_| data.len() as isize)
}

unsafe extern "C" fn stage_write_cb(
    file: *mut bindings::file,
    _k: *mut Kobj,
    _a: BinAttrArg,
    buf: *mut c_char,
    off: bindings::loff_t,
    count: usize,
) -> isize {
    // SAFETY: sysfs hands us `count` bytes at `buf` for this call.
    from_result(|| stage_write(file, off, unsafe { written(buf, count) }))
}

/// A `1` or `0` written to `file` (with or without a newline), after the
/// privilege and size checks; anything else is EINVAL with a log line that
/// ends with `hint`.
///
/// # Safety
///
/// `buf` must point at `count` readable bytes.
unsafe fn write_flag(file: &str, buf: *const c_char, count: usize, hint: &str) -> Result<bool> {
    check_write(file, count)?;
    // SAFETY: as the caller promises.
    match unsafe { written(buf, count) } {
        b"1" | b"1\n" => Ok(true),
        b"0" | b"0\n" => Ok(false),
        other => {
            pr_err!("{}: invalid value \"{}\" ({})\n", file, crate::rules::print::Escaped(other, 40), hint);
            Err(EINVAL)
        }
    }
}

unsafe extern "C" fn commit_store(_k: *mut Kobj, _a: *mut KAttr, buf: *const c_char, count: usize) -> isize {
    from_result(|| {
        // SAFETY: sysfs hands us `count` bytes at `buf`.
        let commit = unsafe { write_flag("commit", buf, count, "write 1 to commit, 0 to discard") }?;
        let lock = Locked::new();
        // SAFETY: `STAGE` is only used with the writers' lock held.
        let staged = unsafe { (*addr_of_mut!(STAGE)).take() };
        if commit {
            let Some(st) = staged else {
                pr_err!("commit: nothing staged\n");
                return Err(Error::from_errno(-(bindings::ENODATA as i32)));
            };
            ruleset::apply_locked(&lock, Op::Commit, "commit", &st.text)?;
        }
        Ok(count as isize)
    })
}

unsafe extern "C" fn add_store(_k: *mut Kobj, _a: *mut KAttr, buf: *const c_char, count: usize) -> isize {
    from_result(|| write_rules(Op::Add, buf, count))
}

unsafe extern "C" fn del_store(_k: *mut Kobj, _a: *mut KAttr, buf: *const c_char, count: usize) -> isize {
    from_result(|| write_rules(Op::Del, buf, count))
}

unsafe extern "C" fn enabled_show(_k: *mut Kobj, _a: *mut KAttr, buf: *mut c_char) -> isize {
    // SAFETY: sysfs hands us a page-sized buffer.
    unsafe {
        *buf = if enabled() { b'1' } else { b'0' };
        *buf.add(1) = b'\n';
    }
    2
}

unsafe extern "C" fn enabled_store(_k: *mut Kobj, _a: *mut KAttr, buf: *const c_char, count: usize) -> isize {
    from_result(|| {
        // SAFETY: sysfs hands us `count` bytes at `buf`.
        let v = unsafe { write_flag("enabled", buf, count, "write 1 or 0") }?;
        let _lock = Locked::new();
        // SAFETY: the C bool is written with the writers' lock held; the
        // datapath reads it with a volatile load.
        unsafe { core::ptr::write_volatile(addr_of_mut!(bindings::ctskip_enabled), v) };
        Ok(count as isize)
    })
}

const fn attr(name: &'static core::ffi::CStr, mode: u16) -> bindings::attribute {
    bindings::attribute {
        name: name.as_ptr().cast(),
        mode,
        // SAFETY: all-zero is valid for the remaining (lockdep) fields of a
        // static attribute.
        ..unsafe { core::mem::zeroed() }
    }
}

type Show = unsafe extern "C" fn(*mut Kobj, *mut KAttr, *mut c_char) -> isize;
type Store = unsafe extern "C" fn(*mut Kobj, *mut KAttr, *const c_char, usize) -> isize;

const fn kattr(name: &'static core::ffi::CStr, mode: u16, show: Option<Show>, store: Option<Store>) -> KAttr {
    KAttr { attr: attr(name, mode), show, store }
}

static mut ADD: KAttr = kattr(c"add", 0o200, None, Some(add_store));
static mut DEL: KAttr = kattr(c"del", 0o200, None, Some(del_store));
static mut ENABLED: KAttr = kattr(c"enabled", 0o644, Some(enabled_show), Some(enabled_store));
static mut COMMIT: KAttr = kattr(c"commit", 0o200, None, Some(commit_store));

static mut RULES: BinAttr = BinAttr {
    attr: attr(c"rules", 0o644),
    read: Some(rules_read),
    write: Some(rules_write),
    // SAFETY: all-zero is valid for the rest (size 0: no size limit).
    ..unsafe { core::mem::zeroed() }
};
static mut STAGE_ATTR: BinAttr = BinAttr {
    attr: attr(c"stage", 0o200),
    write: Some(stage_write_cb),
    // SAFETY: as for `RULES`.
    ..unsafe { core::mem::zeroed() }
};
static mut HITS: BinAttr = BinAttr {
    attr: attr(c"hits", 0o444),
    read: Some(hits_read),
    // SAFETY: as for `RULES`.
    ..unsafe { core::mem::zeroed() }
};

// SAFETY: only the addresses of fields of statics are taken, no references.
static mut ATTRS: [*mut bindings::attribute; 5] = unsafe {
    [addr_of_mut!(ADD.attr), addr_of_mut!(DEL.attr), addr_of_mut!(ENABLED.attr), addr_of_mut!(COMMIT.attr), null_mut()]
};
static mut BIN_ATTRS: [*mut BinAttr; 4] = [addr_of_mut!(RULES), addr_of_mut!(HITS), addr_of_mut!(STAGE_ATTR), null_mut()];
/// /sys/kernel/ctskip and its files, removed on drop.
pub(crate) struct Sysfs {
    kobj: *mut Kobj,
}

// SAFETY: the kobject pointer is only used to remove it, once, in `drop`.
unsafe impl Send for Sysfs {}
// SAFETY: as above; no shared access through `&Sysfs`.
unsafe impl Sync for Sysfs {}

impl Sysfs {
    /// Creates /sys/kernel/ctskip/ with its files.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: `kernel_kobj` is the live /sys/kernel kobject.
        let kobj = unsafe { bindings::kobject_create_and_add(c"ctskip".as_ptr().cast(), bindings::kernel_kobj) };
        if kobj.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `kobj` is ours; the attribute arrays and the attributes
        // are statics.
        let r = unsafe {
            bindings::ctskip_sysfs_create_group(kobj, addr_of_mut!(ATTRS).cast(), addr_of_mut!(BIN_ATTRS).cast())
        };
        if r != 0 {
            // SAFETY: drops our only reference.
            unsafe { bindings::kobject_put(kobj) };
            return Err(Error::from_errno(r));
        }
        Ok(Sysfs { kobj })
    }
}

impl Drop for Sysfs {
    fn drop(&mut self) {
        // SAFETY: created in `new`; removing the files waits for callbacks
        // in progress, then the kobject goes with our reference.
        unsafe {
            bindings::ctskip_sysfs_remove_group(self.kobj);
            bindings::kobject_put(self.kobj);
        }
        let _lock = Locked::new();
        // SAFETY: no reader or writer of the files remains; the snapshot
        // and the staged text are ours to free.
        unsafe {
            *addr_of_mut!(HITS_SNAPSHOT) = None;
            *addr_of_mut!(STAGE) = None;
        }
    }
}

