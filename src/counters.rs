// SPDX-License-Identifier: GPL-2.0

//! The per-netns counters of /proc/net/ctskip.

/// The per-netns counters of `/proc/net/ctskip`, in the file's order.
#[derive(Clone, Copy)]
#[repr(u32)]
pub(crate) enum Stat {
    Seen,
    Untracked,
    UntrackedBytes,
    UntrackedIpv4,
    UntrackedIpv6,
    UntrackedPrerouting,
    UntrackedOutput,
    AlreadyTracked,
    Unparsed,
    UntrackedIcmpErrors,
}

/// Names of the per-netns counters, in the order of [`Stat`].
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

impl Stat {
    /// This counter as a bit of a [`PerCpu::count`] mask.
    pub(crate) const fn bit(self) -> u64 {
        1 << self as u32
    }
}

pub(crate) use crate::kapi::percpu::NO_ADD;
