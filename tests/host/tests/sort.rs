//! The kernel-safe heapsort (`rules::sort`, no recursion) against std's
//! sort: random lengths and values, many repeats, already sorted and
//! reversed input, and a key sort.

use ctskip_core::rules::sort;
use ctskip_core::Host;

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn sorts_as_std_does() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for n in (0..70).chain([255, 256, 257, 1000, 4097]) {
        for range in [2u64, 10, 1 << 40] {
            let v: Vec<u64> = (0..n).map(|_| xorshift(&mut x) % range).collect();
            let mut ours = v.clone();
            sort::sort::<Host, _>(&mut ours);
            let mut want = v.clone();
            want.sort();
            assert_eq!(ours, want, "n {n} range {range}");
        }
    }
    for n in [0usize, 1, 2, 3, 100, 1001] {
        let mut up: Vec<usize> = (0..n).collect();
        sort::sort::<Host, _>(&mut up);
        assert_eq!(up, (0..n).collect::<Vec<_>>());
        let mut down: Vec<usize> = (0..n).rev().collect();
        sort::sort::<Host, _>(&mut down);
        assert_eq!(down, (0..n).collect::<Vec<_>>());
    }
}

#[test]
fn sorts_by_key_and_by_comparator() {
    let mut x = 7u64;
    let v: Vec<(u8, u32)> = (0..5000)
        .map(|_| ((xorshift(&mut x) % 7) as u8, xorshift(&mut x) as u32))
        .collect();
    let mut ours = v.clone();
    sort::sort_by_key::<Host, _, _, _>(&mut ours, |p| (p.0, p.1));
    let mut want = v.clone();
    want.sort();
    assert_eq!(ours, want);
    let mut desc = v.clone();
    sort::sort_by::<Host, _, _>(&mut desc, |a, b| b.cmp(a));
    want.reverse();
    assert_eq!(desc, want);
}

/// 131,072 large elements (two directions of 65,536 rules) sort without
/// recursion: the same order as std's, on a 32 KiB stack (a kernel stack
/// is 16 KiB, and a recursive sort of these took more).
#[test]
fn large_elements() {
    std::thread::Builder::new()
        .stack_size(32 << 10)
        .spawn(large_elements_sorted)
        .unwrap()
        .join()
        .unwrap();
}

fn large_elements_sorted() {
    let mut x = 99u64;
    let v: Vec<[u64; 16]> = (0..131_072)
        .map(|_| {
            let mut e = [0u64; 16];
            e[0] = xorshift(&mut x) % 1000;
            e[15] = xorshift(&mut x);
            e
        })
        .collect();
    let mut ours = v.clone();
    sort::sort::<Host, _>(&mut ours);
    let mut want = v;
    want.sort_unstable();
    assert_eq!(ours, want);
}
