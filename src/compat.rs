// SPDX-License-Identifier: GPL-2.0

//! What differs between the kernels ctskip builds on (6.12 LTS and 7.x),
//! beyond what a `#[cfg]` at the use site handles. The cfgs are set by
//! Kbuild from the kernel tree's own sources.

/// The kernel's `pr_*!` macros format with `kernel::fmt::Display` since the
/// 6.18-era `fmt` rework; the kernel-free core implements
/// `core::fmt::Display`, so forward it for the types that are logged.
#[cfg(ctskip_kernel_fmt)]
mod fmt {
    use crate::rules::parse::{ParseError, WithLine};
    use crate::rules::print::Escaped;
    use crate::rules::{Limit, Rule};
    use kernel::fmt::{Display, Formatter, Result};

    macro_rules! forward {
        ($($t:ty),*) => {$(
            impl Display for $t {
                fn fmt(&self, f: &mut Formatter<'_>) -> Result {
                    core::fmt::Display::fmt(self, f)
                }
            }
        )*};
    }

    forward!(ParseError<'_>, WithLine<'_, '_>, Rule, Escaped<'_>, Limit);
}
