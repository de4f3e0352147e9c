//! Parsing a text holds memory in proportion to its distinct rules, not to
//! its size (issue: a 16 MiB stage of `ip\n`, 5.6 million pieces and one
//! rule in the end, reserved room for every piece first). A counting global
//! allocator measures the peak of live heap bytes during each parse.

#![allow(clippy::result_large_err)] // SetError carries a rule by value (see rules::set)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ctskip_core::rules::{plan_replace, Rule, SetError, MAX_RULES};
use ctskip_core::Host;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// One measurement at a time (tests run on several threads).
static ONE: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Peak heap bytes above the level before `f`, and `f`'s result.
fn peak<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = f();
    (PEAK.load(Ordering::Relaxed) - base, r)
}

const MIB: usize = 1 << 20;
const TEXT: usize = 16 * MIB;

fn repeat(line: &str) -> Vec<u8> {
    line.as_bytes()
        .iter()
        .copied()
        .cycle()
        .take(TEXT / line.len() * line.len())
        .collect()
}

#[test]
fn one_rule_repeated_costs_one_rule() {
    let _g = ONE.lock().unwrap();
    let text = repeat("ip\n");
    let (bytes, r) = peak(|| plan_replace::<Host>(&[], &text).map(|p| p.len()));
    assert_eq!(r, Ok(1));
    assert!(bytes < 64 * 1024, "16 MiB of `ip` peaked at {bytes} bytes");
}

#[test]
fn distinct_looking_duplicates_cost_the_distinct_rules() {
    let _g = ONE.lock().unwrap();
    // 5 million lines that differ in blanks, comments and `;` but are 4 rules.
    let mut text = Vec::with_capacity(TEXT);
    let forms = [
        "udp dport 53\n",
        "udp  dport 53 # x\n",
        "tcp dport 80;\n",
        "ip6 udp dport 53\n",
        "\tgre\n",
    ];
    let mut i = 0;
    while text.len() + 20 < TEXT {
        text.extend_from_slice(forms[i % forms.len()].as_bytes());
        i += 1;
    }
    assert!(i > 1_000_000);
    let (bytes, r) = peak(|| plan_replace::<Host>(&[], &text).map(|p| p.len()));
    assert_eq!(r, Ok(4));
    assert!(
        bytes < 64 * 1024,
        "{i} duplicate lines peaked at {bytes} bytes"
    );
}

#[test]
fn the_largest_set_costs_a_small_multiple_of_itself() {
    let _g = ONE.lock().unwrap();
    let mut text = String::new();
    for i in 0..MAX_RULES {
        text.push_str(&format!(
            "ip saddr 10.{}.{}.0/24 udp dport 53\n",
            i >> 8,
            i & 255
        ));
    }
    let final_size = MAX_RULES * core::mem::size_of::<Rule>();
    let (bytes, r) = peak(|| plan_replace::<Host>(&[], text.as_bytes()).map(|p| p.len()));
    assert_eq!(r, Ok(MAX_RULES));
    // The rule list (grown by doubling), its index and the plan.
    assert!(
        bytes <= 4 * final_size,
        "peak {bytes} bytes for a set of {final_size}"
    );
    // One distinct rule more: refused, and still bounded.
    text.push_str("gre\n");
    let (bytes, r) = peak(|| plan_replace::<Host>(&[], text.as_bytes()).map(|p| p.len()));
    assert_eq!(r, Err(SetError::TooMany));
    assert!(bytes <= 4 * final_size, "peak {bytes} bytes when refusing");
}
