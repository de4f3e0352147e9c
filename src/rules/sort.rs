// SPDX-License-Identifier: GPL-2.0

//! Sorting without recursion, for building a set in the kernel.
//!
//! `core`'s slice sorts recurse: up to about 2·log2(n) frames, each of up to
//! a kilobyte for the classifier's large elements, which overflows a 16 KiB
//! kernel stack for 65,536 rules. Heapsort is in place, iterative and
//! O(n log n) in the worst case, with one small frame. It is unstable, as
//! every caller's `sort_unstable*` was.

use core::cmp::Ordering;

use super::Alloc;

/// Sorts `v` by `cmp` (unstable), letting other tasks run between sift-downs
/// (`A::relax`).
pub fn sort_by<A: Alloc, T, F: FnMut(&T, &T) -> Ordering>(v: &mut [T], mut cmp: F) {
    let n = v.len();
    // Heapify: every node that has a child, from the last one up.
    for start in (0..n / 2).rev() {
        sift_down(v, start, n, &mut cmp);
        A::relax();
    }
    // Move the largest to the end, one at a time.
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end, &mut cmp);
        A::relax();
    }
}

/// Sorts `v` by the key `f` gives (unstable).
pub fn sort_by_key<A: Alloc, T, K: Ord, F: FnMut(&T) -> K>(v: &mut [T], mut f: F) {
    sort_by::<A, _, _>(v, |a, b| f(a).cmp(&f(b)));
}

/// Sorts `v` (unstable).
pub fn sort<A: Alloc, T: Ord>(v: &mut [T]) {
    sort_by::<A, _, _>(v, T::cmp);
}

/// Restores the max-heap property of `v[..end]` below `node`.
fn sift_down<T, F: FnMut(&T, &T) -> Ordering>(
    v: &mut [T],
    mut node: usize,
    end: usize,
    cmp: &mut F,
) {
    loop {
        let mut child = 2 * node + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && cmp(&v[child], &v[child + 1]) == Ordering::Less {
            child += 1;
        }
        if cmp(&v[node], &v[child]) != Ordering::Less {
            return;
        }
        v.swap(node, child);
        node = child;
    }
}
