// SPDX-License-Identifier: GPL-2.0

//! Where header bytes lie in an skb's linear data: the arithmetic behind
//! `SkBuff::header`'s fast path, as `skb_header_pointer()` does it.
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

impl Linear {
    /// The offset from `data` of the `n` bytes at `off` past the network
    /// header, if all of them are in the linear data (`data[..len -
    /// data_len]`); `None` sends the caller to `skb_header_pointer()`.
    #[inline]
    pub(crate) fn find(&self, off: usize, n: usize) -> Option<isize> {
        let headlen = isize::try_from(self.len.checked_sub(self.data_len)?).ok()?;
        let nh = isize::try_from(self.head.checked_add(usize::from(self.network_header))?).ok()?;
        let data = isize::try_from(self.data).ok()?;
        let start = nh
            .checked_sub(data)?
            .checked_add(isize::try_from(off).ok()?)?;
        let end = start.checked_add(isize::try_from(n).ok()?)?;
        // Only bytes within `data[..headlen]` are read directly; anything
        // else (headroom, paged data, past the end) takes the slow path.
        (start >= 0 && end <= headlen).then_some(start)
    }
}
