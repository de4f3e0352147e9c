// SPDX-License-Identifier: GPL-2.0

//! Where header bytes lie in an skb's linear data: the arithmetic behind
//! `SkBuff::headers`' fast path, as `skb_header_pointer()` does it, worked
//! out once per packet.
//!
//! Pure logic (no kernel calls), compiled by `tests/host` too.

/// The fields of `struct sk_buff` that locate the linear data and the
/// network header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Linear {
    /// `skb->head`, as an address.
    pub(crate) head: usize,
    /// `skb->data`, as an address.
    pub(crate) data: usize,
    /// `skb->network_header`: offset from `head`.
    pub(crate) network_header: u16,
    /// `skb->len`.
    pub(crate) len: u32,
    /// `skb->data_len` (the non-linear part).
    pub(crate) data_len: u32,
}

/// The linear bytes from the network header on: `data[start..start +
/// avail]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// The network header's offset from `data`.
    pub(crate) start: usize,
    /// Linear bytes from the network header to the end of the linear data.
    pub(crate) avail: usize,
}

impl Window {
    /// No byte readable directly: every read takes the slow path.
    pub(crate) const NONE: Window = Window { start: 0, avail: 0 };

    /// The offset from `data` of the `n` bytes at `off` past the network
    /// header, if all of them are in the window; `None` sends the caller to
    /// `skb_header_pointer()`.
    #[inline]
    pub(crate) fn find(&self, off: usize, n: usize) -> Option<usize> {
        let end = off.checked_add(n)?;
        // No overflow: `start + avail` is the linear length, a `u32`.
        (end <= self.avail).then(|| self.start.wrapping_add(off))
    }
}

impl Linear {
    /// The window of linear bytes at the network header, or
    /// [`Window::NONE`] if the network header is not in the linear data at
    /// or after `data` (headroom, a broken skb).
    ///
    /// The offset is `head + network_header - data` (`skb_network_offset()`)
    /// in wrapping arithmetic: kernel addresses have their top bit set, so
    /// they are never compared as signed values or converted to them.
    #[inline]
    pub(crate) fn window(&self) -> Window {
        let Some(headlen) = self.len.checked_sub(self.data_len) else {
            return Window::NONE;
        };
        let headlen = headlen as usize;
        let start = self
            .head
            .wrapping_add(usize::from(self.network_header))
            .wrapping_sub(self.data);
        // A network header before `data` wraps to a huge `start`.
        if start > headlen {
            return Window::NONE;
        }
        Window {
            start,
            avail: headlen - start,
        }
    }
}
