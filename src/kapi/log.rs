// SPDX-License-Identifier: GPL-2.0

//! Rate-limited log lines. Every line that a write, a reader or a new netns
//! can cause goes through [`err_limited!`] or [`warn_limited!`]: they share
//! one budget (`CTSKIP_LOG_BURST` lines per `CTSKIP_LOG_INTERVAL_S` seconds,
//! see the shim), after which the kernel logs how many were suppressed. An
//! operator's mistake still gets its line; a loop in a container cannot
//! flood the host's log.

use super::bindings;

/// Whether a rate-limited line may be printed now (counts it if so).
pub(crate) fn allowed() -> bool {
    // SAFETY: takes the shim's ratelimit state's spinlock; any context.
    unsafe { bindings::ctskip_log_allowed() }
}

/// `pr_err!`, within the shared budget.
macro_rules! err_limited {
    ($($arg:tt)*) => {
        if $crate::kapi::log::allowed() {
            ::kernel::pr_err!($($arg)*);
        }
    };
}

/// `pr_warn!`, within the shared budget.
macro_rules! warn_limited {
    ($($arg:tt)*) => {
        if $crate::kapi::log::allowed() {
            ::kernel::pr_warn!($($arg)*);
        }
    };
}

pub(crate) use {err_limited, warn_limited};
