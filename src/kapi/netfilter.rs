// SPDX-License-Identifier: GPL-2.0

//! Netfilter for Rust: the packet (`SkBuff`) and hook state a hook sees, and
//! per-netns hook registrations whose `Drop` unregisters them.
//!
//! Shaped after `rust/kernel/net/phy.rs`: transparent wrappers over the C
//! structures, a trait ([`Hook`]) whose function the C callback forwards to.

use kernel::error::to_result;
use kernel::ffi::{c_uint, c_void};
use kernel::prelude::*;
use kernel::types::Opaque;

use kernel::sync::Arc;

use super::bindings;
use super::pernet::{Grace, Net, PreExit};
use super::rcu::{synchronize, ReadSide};
use super::window::{Linear, Window};

/// The state bits of `skb->_nfct` (`NFCT_INFOMASK`); the rest is the entry.
const NFCT_INFOMASK: usize = 7;

/// The byte offsets in `struct sk_buff` of the fields the hot path reads,
/// as this kernel lays them out (`include/ctskip_bindings.h`: constants, so
/// each read is one load).
mod skb_off {
    use super::bindings as b;

    pub(super) const LEN: isize = b::ctskip_skb_off_CTSKIP_SKB_LEN as isize;
    pub(super) const DATA_LEN: isize = b::ctskip_skb_off_CTSKIP_SKB_DATA_LEN as isize;
    pub(super) const HEAD: isize = b::ctskip_skb_off_CTSKIP_SKB_HEAD as isize;
    pub(super) const DATA: isize = b::ctskip_skb_off_CTSKIP_SKB_DATA as isize;
    pub(super) const NETWORK_HEADER: isize = b::ctskip_skb_off_CTSKIP_SKB_NETWORK_HEADER as isize;
    /// Negative: no `_nfct` field (a kernel without conntrack).
    pub(super) const NFCT: isize = b::ctskip_skb_off_CTSKIP_SKB_NFCT as isize;
    /// `IP_CT_UNTRACKED`.
    pub(super) const CT_UNTRACKED: usize = b::ctskip_skb_off_CTSKIP_CT_UNTRACKED as usize;
}

/// A packet at a netfilter hook.
///
/// # Invariants
///
/// The wrapped `struct sk_buff` is live, and owned by the hook's caller, for
/// the lifetime of the reference.
#[repr(transparent)]
pub(crate) struct SkBuff(Opaque<bindings::sk_buff>);

/// Reads a field of type `T` at byte offset `off` of the skb.
///
/// # Safety
///
/// `off` must be the offset of a field of type `T` in `struct sk_buff`.
#[inline]
unsafe fn field<T: Copy>(skb: &SkBuff, off: isize) -> T {
    // SAFETY: the skb is live (type invariant) and `off` names a `T` field
    // (caller); fields of a live skb may be read by its owner.
    unsafe { skb.0.get().cast::<u8>().offset(off).cast::<T>().read() }
}

impl SkBuff {
    /// Borrows the skb a hook was handed.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a live skb, owned by the caller, for `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::sk_buff) -> &'a SkBuff {
        // SAFETY: transparent wrapper; live for `'a` (caller).
        unsafe { &*ptr.cast::<SkBuff>() }
    }

    /// The packet's length (`skb->len`).
    #[inline]
    pub(crate) fn len(&self) -> u32 {
        // SAFETY: `len` is an `unsigned int` at that offset.
        unsafe { field::<u32>(self, skb_off::LEN) }
    }

    /// The packet, if no conntrack state is attached that ctskip leaves
    /// alone (`skb->_nfct`: an entry, a template, or the untracked mark);
    /// `None` otherwise.
    ///
    /// A bare state with no entry is not counted: `nf_ct_attach()` gives the
    /// ICMP error (or the reset of a REJECT rule) about an *untracked* packet
    /// `related` with no entry, which conntrack then calls invalid. ctskip
    /// may mark such a packet untracked instead.
    #[inline]
    pub(crate) fn without_conntrack(&self) -> Option<NoConntrack<'_>> {
        if skb_off::NFCT < 0 {
            // INVARIANT: no `_nfct` field in this kernel.
            return Some(NoConntrack { skb: self });
        }
        // SAFETY: `_nfct` is an `unsigned long` at that offset.
        let v = unsafe { field::<usize>(self, skb_off::NFCT) };
        let attached = v != 0 && (v & !NFCT_INFOMASK != 0 || v == skb_off::CT_UNTRACKED);
        // INVARIANT: no entry or template attached: `v` is 0 or a state
        // alone.
        (!attached).then_some(NoConntrack { skb: self })
    }

    /// The packet's headers from the network header on, for reads at
    /// offsets from it: where the linear data lies is worked out once.
    #[inline]
    pub(crate) fn headers(&self) -> Headers<'_> {
        // SAFETY: the fields are read at their offsets, with their C types.
        let (data, w) = unsafe {
            let data = field::<*const u8>(self, skb_off::DATA);
            let w = Linear {
                len: field::<u32>(self, skb_off::LEN),
                data_len: field::<u32>(self, skb_off::DATA_LEN),
                head: field::<*const u8>(self, skb_off::HEAD) as usize,
                data: data as usize,
                network_header: field::<u16>(self, skb_off::NETWORK_HEADER),
            };
            (data, w)
        };
        // INVARIANT: `window` places its bytes within `data[..len -
        // data_len]`, the skb's linear data.
        Headers {
            skb: self,
            data,
            window: w.window(),
        }
    }

    #[cold]
    #[inline(never)]
    fn header_slow<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
        let mut buf = [0u8; N];
        // SAFETY: the skb is live (invariant); `buf` has room for the `N`
        // bytes skb_header_pointer() may copy into it.
        let p = unsafe {
            bindings::ctskip_skb_header(
                self.0.get(),
                i32::try_from(off).ok()?,
                N as i32,
                buf.as_mut_ptr().cast(),
            )
        };
        if p.is_null() {
            return None;
        }
        if p.cast::<u8>() != buf.as_ptr() {
            // SAFETY: a non-null result points at `N` readable bytes of the
            // skb's linear data.
            unsafe { core::ptr::copy_nonoverlapping(p.cast::<u8>(), buf.as_mut_ptr(), N) };
        }
        Some(buf)
    }

    /// Walks the IPv6 extension headers from `start` (relative to the
    /// network header, `ipv6_skip_exthdr()`): the transport header's offset,
    /// the transport protocol and the fragment offset field.
    fn ipv6_skip_exthdr(&self, start: usize, nexthdr: u8) -> Option<(usize, u8, u16)> {
        let mut nh = nexthdr;
        let mut frag: u16 = 0;
        // SAFETY: the skb is live (invariant); the out-pointers are locals.
        let off = unsafe {
            bindings::ctskip_ipv6_skip_exthdr(
                self.0.get(),
                i32::try_from(start).ok()?,
                &mut nh,
                &mut frag,
            )
        };
        (off >= 0).then(|| (off as usize, nh, u16::from_be(frag)))
    }
}

/// A packet with no conntrack entry or template attached, as
/// [`SkBuff::without_conntrack`] found it; the hook owns it until it returns,
/// so nothing attaches one meanwhile.
///
/// # Invariants
///
/// `skb->_nfct` (when the kernel has the field: `skb_off::NFCT` is not
/// negative) holds no entry or template, only a state in its low bits or
/// nothing.
pub(crate) struct NoConntrack<'a> {
    skb: &'a SkBuff,
}

impl<'a> NoConntrack<'a> {
    /// The packet.
    #[inline(always)]
    pub(crate) fn skb(&self) -> &'a SkBuff {
        self.skb
    }

    /// The packet's length (`skb->len`).
    #[inline]
    pub(crate) fn len(&self) -> u32 {
        self.skb.len()
    }

    /// Marks the packet untracked, as the NOTRACK target does
    /// (`nf_ct_set(skb, NULL, IP_CT_UNTRACKED)`).
    #[inline]
    pub(crate) fn untrack(self) {
        if skb_off::NFCT >= 0 {
            let off = skb_off::NFCT;
            // SAFETY: `_nfct` is an `unsigned long` at that offset; the hook
            // owns the skb, and with no entry attached (invariant: no
            // reference held, only a state in the low bits, if anything)
            // nf_ct_set() writes nothing else.
            unsafe {
                self.skb
                    .0
                    .get()
                    .cast::<u8>()
                    .offset(off)
                    .cast::<usize>()
                    .write(skb_off::CT_UNTRACKED)
            };
        }
    }
}

/// Reads of a packet's headers at offsets from its network header: straight
/// from the linear data when the bytes are there, else through
/// `skb_header_pointer()`. Non-linear and truncated skbs are safe.
///
/// # Invariants
///
/// `data[window.start..window.start + window.avail]` lies within the linear
/// data of `skb`, which does not change while `skb` is borrowed.
pub(crate) struct Headers<'a> {
    skb: &'a SkBuff,
    data: *const u8,
    window: Window,
}

impl Headers<'_> {
    /// Copies `N` bytes at `off` from the network header, if the packet has
    /// them.
    #[inline(always)]
    pub(crate) fn read<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
        if let Some(b) = self.linear(off) {
            return Some(b);
        }
        self.skb.header_slow(off)
    }

    /// Copies `N` bytes at `off` from the network header if they are in the
    /// skb's linear data; `None` otherwise (where [`read`](Self::read)
    /// would take the slow path).
    #[inline(always)]
    pub(crate) fn linear<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
        let at = self.window.find(off, N)?;
        // SAFETY: `find` placed the `N` bytes within the window, which lies
        // within the skb's linear data (invariant).
        Some(unsafe { self.data.add(at).cast::<[u8; N]>().read_unaligned() })
    }

    /// Walks the IPv6 extension headers from `start` (relative to the
    /// network header, `ipv6_skip_exthdr()`): the transport header's offset,
    /// the transport protocol and the fragment offset field.
    pub(crate) fn ipv6_skip_exthdr(&self, start: usize, nexthdr: u8) -> Option<(usize, u8, u16)> {
        self.skb.ipv6_skip_exthdr(start, nexthdr)
    }
}

/// A network device, borrowed from a hook's state.
#[repr(transparent)]
pub(crate) struct NetDevice(Opaque<bindings::net_device>);

impl NetDevice {
    /// The device's name, IFNAMSIZ bytes, NUL-padded.
    #[inline]
    pub(crate) fn name(&self) -> [u8; 16] {
        let mut raw = [0u8; 16];
        // SAFETY: the device is live for the hook's call (the state holds
        // it); the shim copies IFNAMSIZ bytes into `raw`.
        unsafe { bindings::ctskip_dev_name(self.0.get(), raw.as_mut_ptr().cast()) };
        raw
    }
}

/// The address family of a hook.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// NFPROTO_IPV4.
    Ipv4,
    /// NFPROTO_IPV6.
    Ipv6,
}

/// The hooks ctskip uses.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HookPoint {
    /// NF_INET_PRE_ROUTING.
    PreRouting,
    /// NF_INET_LOCAL_OUT.
    LocalOut,
}

/// What a hook is called with besides the packet.
///
/// # Invariants
///
/// The wrapped state is live for the lifetime of the reference.
#[repr(transparent)]
pub(crate) struct HookState(Opaque<bindings::nf_hook_state>);

impl HookState {
    #[inline]
    fn raw(&self) -> &bindings::nf_hook_state {
        // SAFETY: live (invariant) and only read.
        unsafe { &*self.0.get() }
    }

    /// The state's C pointer, for the C side (trace events).
    pub(super) fn as_ptr(&self) -> *const bindings::nf_hook_state {
        self.0.get()
    }

    /// The input device (PRE_ROUTING).
    #[inline]
    pub(crate) fn in_dev(&self) -> Option<&NetDevice> {
        // SAFETY: null or a device live for the call.
        unsafe { self.raw().in_.cast::<NetDevice>().as_ref() }
    }

    /// The output device (LOCAL_OUT).
    #[inline]
    pub(crate) fn out_dev(&self) -> Option<&NetDevice> {
        // SAFETY: null or a device live for the call.
        unsafe { self.raw().out.cast::<NetDevice>().as_ref() }
    }
}

/// Where a hook runs: its family and hook point. Each registration gets a
/// callback of its own with these as constants, so a hook inlined into it
/// tests neither at run time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub(crate) family: Family,
    pub(crate) point: HookPoint,
}

impl Place {
    /// IPv6's hook if `V6`, else IPv4's; PRE_ROUTING if `PRE`, else
    /// LOCAL_OUT.
    #[inline(always)]
    pub(crate) const fn of<const V6: bool, const PRE: bool>() -> Self {
        Place {
            family: if V6 { Family::Ipv6 } else { Family::Ipv4 },
            point: if PRE {
                HookPoint::PreRouting
            } else {
                HookPoint::LocalOut
            },
        }
    }
}

/// A netfilter hook function over data of type `Data`.
pub(crate) trait Hook {
    /// What the hook works on (one per registration set).
    type Data: Sync;
    /// Looks at one packet at `at`; netfilter accepts it afterwards
    /// (ctskip never drops).
    fn hook(data: &Self::Data, skb: &SkBuff, state: &HookState, at: Place, rcu: &ReadSide<'_>);
}

/// # Safety
///
/// Called by netfilter only, for ops registered by [`NetHooks::register`]:
/// `priv_` is the `H::Data` they were registered with, `skb` and `state`
/// are live, and the call runs inside an RCU read-side section. `V6` and
/// `PRE` are the ops' family and hook point.
unsafe extern "C" fn hook_cb<H: Hook, const V6: bool, const PRE: bool>(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> c_uint {
    let at = Place::of::<V6, PRE>();
    // SAFETY: as netfilter promises (see `# Safety`).
    unsafe {
        let rcu = ReadSide::assume();
        H::hook(
            &*priv_.cast::<H::Data>(),
            SkBuff::from_raw(skb),
            &*state.cast::<HookState>(),
            at,
            &rcu,
        );
    }
    bindings::NF_ACCEPT
}

/// Where a [`NetHooks`] stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Registered,
    /// Unregistered; packets may still run the hooks until a grace period.
    Unregistered,
}

/// The hooks registered in one netns, owning their data; unregistered when
/// dropped (then a grace period before the data goes), or by
/// [`NetHooks::unregister`] in pernet `pre_exit` and released without a
/// wait by [`NetHooks::release`] in `exit`.
///
/// # Invariants
///
/// While not dropped, `ops` point at `data`'s value; while `Registered`,
/// they are registered in `net`, which outlives them.
pub(crate) struct NetHooks<H: Hook, const N: usize> {
    net: *mut bindings::net,
    ops: KBox<[bindings::nf_hook_ops; N]>,
    data: Option<Arc<H::Data>>,
    stage: Stage,
}

// SAFETY: the registration may be dropped from any task (pernet callbacks).
unsafe impl<H: Hook, const N: usize> Send for NetHooks<H, N> {}
// SAFETY: `&NetHooks` offers nothing.
unsafe impl<H: Hook, const N: usize> Sync for NetHooks<H, N> {}

impl<H: Hook, const N: usize> NetHooks<H, N> {
    /// Registers `H` at `points` in `net`, at `priority`, over `data`.
    ///
    /// `net` must outlive the registration: make it in pernet `init`, end it
    /// in `pre_exit`/`exit` (see [`super::pernet`]).
    pub(crate) fn register(
        net: &Net,
        points: [(Family, HookPoint); N],
        priority: i32,
        data: Arc<H::Data>,
    ) -> Result<Self> {
        // SAFETY: all-zero is a valid, empty nf_hook_ops.
        let mut ops: KBox<[bindings::nf_hook_ops; N]> =
            KBox::new(unsafe { core::mem::zeroed() }, GFP_KERNEL)?;
        for (o, (family, point)) in ops.iter_mut().zip(points) {
            o.hook = Some(match (family, point) {
                (Family::Ipv4, HookPoint::PreRouting) => hook_cb::<H, false, true>,
                (Family::Ipv4, HookPoint::LocalOut) => hook_cb::<H, false, false>,
                (Family::Ipv6, HookPoint::PreRouting) => hook_cb::<H, true, true>,
                (Family::Ipv6, HookPoint::LocalOut) => hook_cb::<H, true, false>,
            });
            o.pf = match family {
                Family::Ipv4 => bindings::NFPROTO_IPV4,
                Family::Ipv6 => bindings::NFPROTO_IPV6,
            } as u8;
            o.hooknum = match point {
                HookPoint::PreRouting => bindings::NF_INET_PRE_ROUTING,
                HookPoint::LocalOut => bindings::NF_INET_LOCAL_OUT,
            };
            o.priority = priority;
            o.priv_ = core::ptr::from_ref::<H::Data>(&*data).cast_mut().cast();
        }
        // SAFETY: `net` is live (the pernet core calls us for it); the ops
        // are filled and stay in this value until unregistered.
        let r = to_result(unsafe {
            bindings::nf_register_net_hooks(net.as_ptr(), ops.as_ptr(), N as c_uint)
        });
        if let Err(e) = r {
            // nf_register_net_hooks() may have published some of the hooks
            // to packets before it failed and unwound them (x_tables.c has
            // the same comment on this path): wait for those packets before
            // the caller frees `data`.
            synchronize();
            return Err(e);
        }
        // INVARIANT: registered just above, over `data`.
        Ok(NetHooks {
            net: net.as_ptr(),
            ops,
            data: Some(data),
            stage: Stage::Registered,
        })
    }

    /// Unregisters the hooks in pernet `pre_exit` (packets may still be
    /// running them until the grace period before `exit`).
    pub(crate) fn unregister(&mut self, _pre_exit: &PreExit) {
        self.unregister_now();
    }

    fn unregister_now(&mut self) {
        if self.stage == Stage::Registered {
            // SAFETY: registered in `net`, which is live (invariant).
            unsafe { bindings::nf_unregister_net_hooks(self.net, self.ops.as_ptr(), N as c_uint) };
            self.stage = Stage::Unregistered;
        }
    }

    /// Drops the registration after [`NetHooks::unregister`], in pernet
    /// `exit`: the grace period the pernet core waited for since `pre_exit`
    /// (both proven by their tokens) covers the packets still running the
    /// hooks.
    pub(crate) fn release(mut self, _grace: &Grace) {
        if self.stage == Stage::Unregistered {
            self.data = None;
        }
    }
}

impl<H: Hook, const N: usize> Drop for NetHooks<H, N> {
    fn drop(&mut self) {
        if self.data.is_none() {
            return;
        }
        self.unregister_now();
        // Packets may still run the hooks: wait before the data goes.
        synchronize();
    }
}
