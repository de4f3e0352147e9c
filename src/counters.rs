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
pub(crate) const SLOTS: usize = Slot::UntrackedIcmpErrors as usize + 1;

/// What happened to one packet at the hook.
#[derive(Clone, Copy)]
pub(crate) enum Outcome {
    /// Marked untracked (`icmp_error`: an ICMP error, for the packet it
    /// carries); its bytes go to [`Slot::UntrackedBytes`].
    Untracked {
        v6: bool,
        prerouting: bool,
        icmp_error: bool,
    },
    /// Conntrack state was attached already.
    AlreadyTracked,
    /// Not matched (`unparsed`: its headers, or ports a rule needed, could
    /// not be read).
    Skipped { unparsed: bool },
}

impl Outcome {
    /// The slot this packet is counted in, and a second one it is also
    /// counted in, if any (one each).
    #[inline(always)]
    pub(crate) fn slots(self) -> (Slot, Option<Slot>) {
        match self {
            Outcome::Untracked {
                v6,
                prerouting,
                icmp_error,
            } => {
                let slot = match (v6, prerouting) {
                    (false, true) => Slot::Untracked4Pre,
                    (false, false) => Slot::Untracked4Out,
                    (true, true) => Slot::Untracked6Pre,
                    (true, false) => Slot::Untracked6Out,
                };
                (slot, icmp_error.then_some(Slot::UntrackedIcmpErrors))
            }
            Outcome::AlreadyTracked => (Slot::AlreadyTracked, None),
            Outcome::Skipped { unparsed } => (Slot::Other, unparsed.then_some(Slot::Unparsed)),
        }
    }
}

/// Counters a packet is added to: the per-CPU slots (`kapi::percpu`), or
/// plain ones in the host tests.
pub(crate) trait Adder {
    /// Adds `v` to slot `i`.
    fn add(&self, i: usize, v: u64);
    /// Adds `a` to slot `i` and `b` to slot `j`.
    fn add2(&self, i: usize, a: u64, j: usize, b: u64);
}

/// Counts one packet of `outcome` (`bytes`: an untracked packet's length).
#[inline(always)]
pub(crate) fn count<A: Adder>(to: &A, outcome: Outcome, bytes: u64) {
    let (slot, also) = outcome.slots();
    match (outcome, also) {
        (Outcome::Untracked { .. }, _) => {
            to.add2(slot as usize, 1, Slot::UntrackedBytes as usize, bytes);
            if let Some(also) = also {
                to.add(also as usize, 1);
            }
        }
        (_, Some(also)) => to.add2(slot as usize, 1, also as usize, 1),
        (_, None) => to.add(slot as usize, 1),
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
