// SPDX-License-Identifier: GPL-2.0

//! A directory of binary sysfs files under /sys/kernel whose callbacks work
//! on a shared context and see the open file that calls them (so that state
//! can be kept per open file, see [`super::file`]).
//!
//! Every file is a binary attribute: kernfs hands each `write()` over as it
//! comes (at most a page at a time, with its file offset) and lets reads of
//! any size go through in pages.

use core::ffi::CStr;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

use kernel::alloc::{flags::GFP_KERNEL, KBox, KVec};
use kernel::error::from_result;
use kernel::ffi::c_char;
use kernel::prelude::*;
use kernel::sync::Arc;

use super::bindings;
use super::file::File;

/// The attribute argument of bin_attribute callbacks (const since 6.16).
#[cfg(ctskip_const_bin_attr)]
type BinAttrArg = *const bindings::bin_attribute;
#[cfg(not(ctskip_const_bin_attr))]
type BinAttrArg = *mut bindings::bin_attribute;

/// One file of a [`Directory`].
pub(crate) struct FileSpec {
    /// The file's name.
    pub(crate) name: &'static CStr,
    /// Its mode (0644, 0200, ...).
    pub(crate) mode: u16,
    /// Whether it can be read / written.
    pub(crate) read: bool,
    /// See `read`.
    pub(crate) write: bool,
}

/// What the files of a [`Directory`] do. `id` is the file's index in the
/// directory's [`FileSpec`] list.
pub(crate) trait Files: Send + Sync + 'static {
    /// A read of file `id` at offset `off`: fill `out`, return the length.
    fn read(&self, id: usize, file: &File, off: usize, out: &mut [u8]) -> Result<usize>;
    /// A write to file `id` of `data` at offset `off`: return how much was
    /// taken.
    fn write(&self, id: usize, file: &File, off: usize, data: &[u8]) -> Result<usize>;
}

/// What a binary attribute's `private` points at: the context and the
/// file's index.
struct Slot<T> {
    ctx: *const T,
    id: usize,
}

/// /sys/kernel/NAME with its files; removed when dropped.
///
/// # Invariants
///
/// `kobj` is our kobject with the group of `attrs` created on it; `attrs`
/// and `slots` are not moved or freed while the files exist, and each
/// attribute's `private` points at its slot, whose `ctx` is `ctx`'s value.
pub(crate) struct Directory<T: Files> {
    kobj: *mut bindings::kobject,
    attrs: KBox<[bindings::bin_attribute; MAX_FILES]>,
    ptrs: KBox<[*mut bindings::bin_attribute; MAX_FILES + 1]>,
    slots: KVec<Slot<T>>,
    ctx: Arc<T>,
    _p: PhantomData<T>,
}

/// Whether the one [`Directory`] exists (the shim keeps one group).
static IN_USE: AtomicBool = AtomicBool::new(false);

/// The most files a [`Directory`] holds.
pub(crate) const MAX_FILES: usize = 8;

// SAFETY: the raw pointers are only used to remove the directory in `drop`;
// the context is `Send + Sync`.
unsafe impl<T: Files> Send for Directory<T> {}
// SAFETY: `&Directory` offers nothing.
unsafe impl<T: Files> Sync for Directory<T> {}

impl<T: Files> Directory<T> {
    /// Creates /sys/kernel/`name` with `files`, whose callbacks get `ctx`.
    pub(crate) fn new(
        name: &'static CStr,
        files: &'static [FileSpec],
        ctx: Arc<T>,
    ) -> Result<Self> {
        if files.len() > MAX_FILES {
            return Err(EINVAL);
        }
        if IN_USE.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        Self::make(name, files, ctx).inspect_err(|_| IN_USE.store(false, Ordering::Release))
    }

    fn make(name: &'static CStr, files: &'static [FileSpec], ctx: Arc<T>) -> Result<Self> {
        // SAFETY: all-zero is a valid (empty) bin_attribute and null pointer.
        let mut attrs: KBox<[bindings::bin_attribute; MAX_FILES]> =
            KBox::new(unsafe { core::mem::zeroed() }, GFP_KERNEL)?;
        let mut ptrs = KBox::new([ptr::null_mut(); MAX_FILES + 1], GFP_KERNEL)?;
        let mut slots = KVec::with_capacity(files.len(), GFP_KERNEL)?;
        for id in 0..files.len() {
            slots.push(
                Slot {
                    ctx: core::ptr::from_ref::<T>(&*ctx),
                    id,
                },
                GFP_KERNEL,
            )?;
        }
        for (id, f) in files.iter().enumerate() {
            let a = &mut attrs[id];
            // SAFETY: `a` is a bin_attribute we own; this sets its lockdep key.
            unsafe { bindings::ctskip_bin_attr_init(a) };
            a.attr.name = super::char_ptr(f.name);
            a.attr.mode = f.mode;
            a.private = ptr::addr_of!(slots[id]).cast_mut().cast();
            if f.read {
                a.read = Some(read_cb::<T>);
            }
            if f.write {
                a.write = Some(write_cb::<T>);
            }
            ptrs[id] = a;
        }
        // SAFETY: `kernel_kobj` is the live /sys/kernel kobject.
        let kobj = unsafe {
            bindings::kobject_create_and_add(super::char_ptr(name), bindings::kernel_kobj)
        };
        if kobj.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `kobj` is ours; `ptrs` is NULL-terminated and, like the
        // attributes and slots, lives in this value until `drop` removes
        // the group.
        let r = unsafe {
            bindings::ctskip_sysfs_create_group(kobj, ptr::null_mut(), ptrs.as_mut_ptr())
        };
        if r != 0 {
            // SAFETY: drops our only reference.
            unsafe { bindings::kobject_put(kobj) };
            return Err(Error::from_errno(r));
        }
        // INVARIANT: the group is created over `attrs`, whose private
        // pointers point into `slots`, whose `ctx` is `&*ctx`.
        Ok(Directory {
            kobj,
            attrs,
            ptrs,
            slots,
            ctx,
            _p: PhantomData,
        })
    }
}

impl<T: Files> Drop for Directory<T> {
    fn drop(&mut self) {
        // SAFETY: created in `new` (invariant); removing the group waits for
        // callbacks in progress, after which no callback can start; the
        // kobject goes with our reference.
        unsafe {
            bindings::ctskip_sysfs_remove_group(self.kobj);
            bindings::kobject_put(self.kobj);
        }
        let _ = (&self.attrs, &self.ptrs, &self.slots, &self.ctx);
        IN_USE.store(false, Ordering::Release);
    }
}

/// The context and file index of a callback's attribute.
///
/// # Safety
///
/// `attr` must be one of a live [`Directory<T>`]'s attributes.
unsafe fn slot<'a, T: Files>(attr: BinAttrArg) -> (&'a T, usize) {
    // SAFETY: the attribute's `private` points at its slot and the slot's
    // `ctx` at the directory's context, both live while the directory's
    // files exist (invariant of `Directory`), which they do during a
    // callback.
    unsafe {
        let s = &*(*attr).private.cast::<Slot<T>>();
        (&*s.ctx, s.id)
    }
}

/// # Safety
///
/// Called by sysfs only, for an attribute of a live [`Directory<T>`], with
/// the open file and a kernel buffer of `count` writable bytes.
unsafe extern "C" fn read_cb<T: Files>(
    file: *mut bindings::file,
    _kobj: *mut bindings::kobject,
    attr: BinAttrArg,
    buf: *mut c_char,
    off: bindings::loff_t,
    count: usize,
) -> isize {
    from_result(|| {
        // SAFETY: as promised by sysfs (see `# Safety`).
        let (ctx, id) = unsafe { slot::<T>(attr) };
        // SAFETY: the file is open for this call.
        let file = unsafe { File::from_raw(file) };
        // SAFETY: sysfs hands a buffer of `count` writable bytes.
        let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), count) };
        Ok(ctx.read(id, file, usize::try_from(off).map_err(|_| EINVAL)?, out)? as isize)
    })
}

/// # Safety
///
/// Called by sysfs only, for an attribute of a live [`Directory<T>`], with
/// the open file and `count` readable bytes at `buf`.
unsafe extern "C" fn write_cb<T: Files>(
    file: *mut bindings::file,
    _kobj: *mut bindings::kobject,
    attr: BinAttrArg,
    buf: *mut c_char,
    off: bindings::loff_t,
    count: usize,
) -> isize {
    from_result(|| {
        // SAFETY: as promised by sysfs (see `# Safety`).
        let (ctx, id) = unsafe { slot::<T>(attr) };
        // SAFETY: the file is open for this call.
        let file = unsafe { File::from_raw(file) };
        // SAFETY: sysfs hands `count` readable bytes.
        let data = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
        Ok(ctx.write(id, file, usize::try_from(off).map_err(|_| EINVAL)?, data)? as isize)
    })
}
