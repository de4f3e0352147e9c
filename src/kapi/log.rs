// SPDX-License-Identifier: GPL-2.0

//! Rate-limited log lines. Every line that a write, a reader or a new netns
//! can cause goes through these macros, within a budget of
//! `CTSKIP_LOG_BURST` lines per `CTSKIP_LOG_INTERVAL_S` seconds (see the
//! shim), after which the kernel logs how many were suppressed. Lines anyone
//! can cause (a refusal for lack of privilege, a netns that could not be set
//! up) have a budget of their own ([`err_anyone!`], [`warn_anyone!`]), so a
//! loop in a container can neither flood the host's log nor silence an
//! administrator's lines ([`err_limited!`]).

use super::bindings;

/// Whether a rate-limited line may be printed now (counts it if so), from
/// the budget of lines anyone can cause (`anyone`) or the administrators'.
pub(crate) fn allowed(anyone: bool) -> bool {
    // SAFETY: takes the shim's ratelimit state's spinlock; any context.
    unsafe { bindings::ctskip_log_allowed(anyone) }
}

/// `pr_err!` for a line only an administrator's action causes.
macro_rules! err_limited {
    ($($arg:tt)*) => {
        if $crate::kapi::log::allowed(false) {
            ::kernel::pr_err!($($arg)*);
        }
    };
}

/// `pr_warn!` for a line only an administrator's action causes.
macro_rules! warn_limited {
    ($($arg:tt)*) => {
        if $crate::kapi::log::allowed(false) {
            ::kernel::pr_warn!($($arg)*);
        }
    };
}

/// `pr_err!` for a line anyone can cause (a refusal for lack of privilege).
macro_rules! err_anyone {
    ($($arg:tt)*) => {
        if $crate::kapi::log::allowed(true) {
            ::kernel::pr_err!($($arg)*);
        }
    };
}

/// `pr_warn!` for a line anyone can cause (a new netns).
macro_rules! warn_anyone {
    ($($arg:tt)*) => {
        if $crate::kapi::log::allowed(true) {
            ::kernel::pr_warn!($($arg)*);
        }
    };
}

pub(crate) use {err_anyone, err_limited, warn_anyone, warn_limited};
