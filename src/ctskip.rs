// SPDX-License-Identifier: GPL-2.0

//! ctskip: skip conntrack for chosen traffic in every network namespace.
//!
//! The packet's path: [`hook`] (skb → key via [`packet`], classify with the
//! active [`ruleset`], untrack, count in [`counters`]). Control: [`sysfs`]
//! and the module parameters (in `shim.c`); per-netns setup: [`pernet`];
//! per-netns figures: [`procfs`]. The rule language and the classifier live
//! in [`rules`], which needs no kernel and is tested on the host too.

use kernel::prelude::*;

mod bindings;
mod compat;
mod counters;
mod hook;
mod kalloc;
mod packet;
mod pernet;
mod procfs;
mod ruleset;
mod sysfs;

pub mod rules;

/// The module's version, logged at load.
const VERSION: &str = "0.2.0";

/// Hook priority bounds: after defrag (-400), before conntrack (-200).
const PRIORITY_MIN: i32 = -400;
const PRIORITY_MAX: i32 = -200;

#[cfg(not(ctskip_modinfo_authors))]
module! {
    type: Ctskip,
    name: "ctskip",
    author: "ctskip developers",
    description: "Skip conntrack for chosen traffic in every network namespace",
    license: "GPL",
}

#[cfg(ctskip_modinfo_authors)]
module! {
    type: Ctskip,
    name: "ctskip",
    authors: ["ctskip developers"],
    description: "Skip conntrack for chosen traffic in every network namespace",
    license: "GPL",
}

/// The loaded module: each field undoes its part when dropped, in this
/// order: hooks and proc files first, then the control files, then the rules.
struct Ctskip {
    _pernet: pernet::Pernet,
    _sysfs: sysfs::Sysfs,
    _rules: ruleset::ActiveSet,
}

impl kernel::Module for Ctskip {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: module parameters are set before init runs and not
        // written afterwards (mode 0444).
        let (priority, rules) = unsafe { (bindings::ctskip_param_priority, bindings::ctskip_param_rules) };
        if !(PRIORITY_MIN < priority && priority < PRIORITY_MAX) {
            pr_err!(
                "parameter priority: {} is out of range (must be greater than {} and less than {})\n",
                priority,
                PRIORITY_MIN,
                PRIORITY_MAX
            );
            return Err(EINVAL);
        }
        let text: &[u8] = if rules.is_null() {
            &[]
        } else {
            // SAFETY: a charp parameter is a NUL-terminated string that
            // lives as long as the module.
            unsafe { core::ffi::CStr::from_ptr(rules.cast()) }.to_bytes()
        };
        let rules = ruleset::ActiveSet::new(text)?;
        let sysfs = sysfs::Sysfs::new()?;
        let pernet = pernet::Pernet::register(priority)?;
        pr_info!("version {} loaded (priority {})\n", VERSION, priority);
        Ok(Ctskip { _pernet: pernet, _sysfs: sysfs, _rules: rules })
    }
}

impl Drop for Ctskip {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
