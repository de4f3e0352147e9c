// SPDX-License-Identifier: GPL-2.0

//! The trace events `ctskip:untrack` and `ctskip:skip` (C `TRACE_EVENT`s in
//! `include/ctskip_trace.h`, defined in `src/trace.c`).
//!
//! The hook asks [`untrack_enabled`] / [`skip_enabled`] first: a static
//! branch on the event's tracepoint key, patched by the kernel when someone
//! enables the event (tracefs, perf, bpftrace). While disabled it is a
//! 5-byte no-op in the hook (and whatever jump the compiler lays out after
//! it), as at a C `trace_*()` call site; `make bench` measures what it
//! costs (S1 against S1notrace, H0 against H0notrace). Only when enabled
//! are the event's fields filled and the C function called. The asm goto
//! needs rustc 1.87 or later (the kernel's minimum for Rust is older; the
//! project builds with 1.96).

use super::bindings;
use super::netfilter::HookState;
use crate::rules::PacketKey;

/// Why a packet examined was left to conntrack (`ctskip:skip`'s `reason`).
#[derive(Clone, Copy)]
pub(crate) enum SkipReason {
    /// No rule matched.
    NoMatch,
    /// A rule needed ports the packet did not show.
    NoPorts,
}

/// Tests a tracepoint's static key: `true` while the event is enabled.
///
/// On x86-64 with `CONFIG_JUMP_LABEL`, the kernel's `arch_static_branch()`
/// for a `static_key_false` (the non-objtool form): a 5-byte no-op and a
/// `__jump_table` entry (code, target, key) that the kernel patches into a
/// jump to the `true` arm when the key is enabled.
macro_rules! tracepoint_enabled {
    ($tp:ident, $slow:ident) => {{
        #[cfg(all(
            CONFIG_TRACEPOINTS,
            CONFIG_JUMP_LABEL,
            target_arch = "x86_64",
            not(ctskip_notrace)
        ))]
        let on = 'branch: {
            // SAFETY: `$tp` is a `struct tracepoint` the C side defines
            // (src/trace.c); its `key` field is the `static_key_false` that
            // `trace_*_enabled()` tests. The entry has the layout of
            // `struct jump_entry` (relative code, target and key; branch
            // bit 0 for an unlikely branch on a false key), and the no-op is
            // `BYTES_NOP5`, which the patching code expects in a disabled
            // site. The asm touches no register or memory.
            unsafe {
                core::arch::asm!(
                    "1: .byte 0x0f,0x1f,0x44,0x00,0x00",
                    ".pushsection __jump_table, \"aw\"",
                    ".balign 8",
                    ".long 1b - .",
                    ".long {yes} - .",
                    ".quad {key} + {off} - .",
                    ".popsection",
                    key = sym bindings::$tp,
                    off = const core::mem::offset_of!(bindings::tracepoint, key),
                    yes = label { break 'branch true; },
                    options(att_syntax, nostack),
                );
            }
            false
        };
        #[cfg(all(
            CONFIG_TRACEPOINTS,
            not(ctskip_notrace),
            not(all(CONFIG_JUMP_LABEL, target_arch = "x86_64"))
        ))]
        // SAFETY: reads the event's key.
        let on = unsafe { bindings::$slow() };
        #[cfg(any(not(CONFIG_TRACEPOINTS), ctskip_notrace))]
        let on = false;
        on
    }};
}

/// Whether `ctskip:untrack` is enabled.
#[inline(always)]
pub(crate) fn untrack_enabled() -> bool {
    tracepoint_enabled!(__tracepoint_untrack, ctskip_trace_untrack_enabled)
}

/// Whether `ctskip:skip` is enabled.
#[inline(always)]
pub(crate) fn skip_enabled() -> bool {
    tracepoint_enabled!(__tracepoint_skip, ctskip_trace_skip_enabled)
}

/// The event's view of a packet key.
fn packet(key: &PacketKey, icmp_error: bool) -> bindings::ctskip_trace_pkt {
    let addr = |a: u128| -> [u8; 16] {
        if key.v6 {
            a.to_be_bytes()
        } else {
            let mut b = [0u8; 16];
            // IPv4: the low 32 bits (host order), network order first.
            b[..4].copy_from_slice(&(a as u32).to_be_bytes());
            b
        }
    };
    bindings::ctskip_trace_pkt {
        saddr: addr(key.saddr),
        daddr: addr(key.daddr),
        sport: key.sport,
        dport: key.dport,
        v6: u8::from(key.v6),
        proto: key.proto,
        icmp_error: u8::from(icmp_error),
    }
}

/// Emits `ctskip:untrack`: `key` (of the packet, or for an ICMP error of
/// the packet it is about, `icmp_error`) matched the rule at `line`
/// (from 1). Call it when [`untrack_enabled`].
#[cold]
#[inline(never)]
pub(crate) fn untrack(state: &HookState, key: &PacketKey, icmp_error: bool, line: u32) {
    let pkt = packet(key, icmp_error);
    // SAFETY: the state is live for the hook's call (its invariant); `pkt`
    // is a local the event copies from.
    unsafe { bindings::ctskip_trace_untrack(state.as_ptr(), &pkt, line) };
}

/// Emits `ctskip:skip`: `key` was read and left to conntrack, for `why`.
/// Call it when [`skip_enabled`].
#[cold]
#[inline(never)]
pub(crate) fn skip(state: &HookState, key: &PacketKey, why: SkipReason) {
    let pkt = packet(key, false);
    let reason = match why {
        SkipReason::NoMatch => bindings::CTSKIP_SKIP_NOMATCH,
        SkipReason::NoPorts => bindings::CTSKIP_SKIP_NOPORTS,
    };
    // SAFETY: as in `untrack`.
    unsafe { bindings::ctskip_trace_skip(state.as_ptr(), &pkt, reason) };
}
