//! Coverage-guided fuzzing of ctskip's rule parser, canonical printer, set
//! operations and classifier (the oracle is `ctskip_core::fuzz_check`).
//! Input: rule text, a 0xff byte, then bytes that make packet keys.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ctskip_core::fuzz_check(data);
});
