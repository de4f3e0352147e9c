// SPDX-License-Identifier: GPL-2.0

//! The per-netns counters of /proc/net/ctskip: what the hook counts (one
//! per-CPU slot per outcome, so a packet costs one or two per-CPU adds), and
//! how the file's counters follow from those slots.
//!
//! Pure logic (no kernel calls), compiled by `tests/host` too.

/// What the hook counts, one per-CPU `u64` each. Every packet the hook
/// sees lands in exactly one of `Other`, `AlreadyTracked` and the four
/// `Untracked*` slots; the rest count a part of those.
#[derive(Clone, Copy)]
#[repr(usize)]
pub(crate) enum Slot {
    /// Seen, neither untracked nor already tracked.
    Other,
    /// Seen with conntrack state attached already.
    AlreadyTracked,
    /// Untracked: IPv4 at PRE_ROUTING.
    Untracked4Pre,
    /// Untracked: IPv4 at LOCAL_OUT.
    Untracked4Out,
    /// Untracked: IPv6 at PRE_ROUTING.
    Untracked6Pre,
    /// Untracked: IPv6 at LOCAL_OUT.
    Untracked6Out,
    /// Bytes of the untracked packets.
    UntrackedBytes,
    /// Of `Other`: headers (or ports a rule needed) that could not be read.
    Unparsed,
    /// Of the untracked: ICMP errors untracked for the packet they carry.
    UntrackedIcmpErrors,
}

/// Number of [`Slot`]s.
pub(crate) const SLOTS: usize = 9;

impl Slot {
    /// Where an untracked packet of this family and hook is counted.
    #[inline]
    pub(crate) fn untracked(v6: bool, prerouting: bool) -> Slot {
        match (v6, prerouting) {
            (false, true) => Slot::Untracked4Pre,
            (false, false) => Slot::Untracked4Out,
            (true, true) => Slot::Untracked6Pre,
            (true, false) => Slot::Untracked6Out,
        }
    }
}

/// Names of the file's counters, in the file's order.
pub(crate) const STAT_NAMES: [&str; 10] = [
    "seen",
    "untracked",
    "untracked_bytes",
    "untracked_ipv4",
    "untracked_ipv6",
    "untracked_prerouting",
    "untracked_output",
    "already_tracked",
    "unparsed",
    "untracked_icmp_errors",
];

/// The file's counters, in the order of [`STAT_NAMES`], from the slots'
/// sums (indexed by [`Slot`]).
pub(crate) fn figures(s: &[u64; SLOTS]) -> [u64; 10] {
    let g = |slot: Slot| s[slot as usize];
    let (p4, o4) = (g(Slot::Untracked4Pre), g(Slot::Untracked4Out));
    let (p6, o6) = (g(Slot::Untracked6Pre), g(Slot::Untracked6Out));
    let untracked = p4.wrapping_add(o4).wrapping_add(p6).wrapping_add(o6);
    [
        g(Slot::Other)
            .wrapping_add(g(Slot::AlreadyTracked))
            .wrapping_add(untracked),
        untracked,
        g(Slot::UntrackedBytes),
        p4.wrapping_add(o4),
        p6.wrapping_add(o6),
        p4.wrapping_add(p6),
        o4.wrapping_add(o6),
        g(Slot::AlreadyTracked),
        g(Slot::Unparsed),
        g(Slot::UntrackedIcmpErrors),
    ]
}
