// SPDX-License-Identifier: GPL-2.0

//! ctskip: skip conntrack for chosen traffic in every network namespace.
//!
//! The packet's path: [`hook`] (skb → key via [`packet`], classify with the
//! active [`ruleset`], untrack, count in [`counters`]). Control: [`control`]
//! (the files under /sys/kernel/ctskip) and the module parameters; per-netns
//! setup: [`pernet`]; per-netns figures: [`procfs`]. The rule language and
//! the classifier live in [`rules`], which needs no kernel and is tested on
//! the host too. [`kapi`] is the safe layer over the kernel's C API.

use kernel::prelude::*;
use kernel::sync::Arc;

use rules::print::Escaped;

mod compat;
mod control;
mod counters;
mod hook;
mod kapi;
mod packet;
mod pernet;
mod procfs;
mod ruleset;

pub mod rules;

/// The module's version, logged at load.
const VERSION: &str = "0.2.0";

/// Hook priority bounds: after defrag (-400), before conntrack (-200).
const PRIORITY_MIN: i32 = -400;
const PRIORITY_MAX: i32 = -200;
/// NF_IP_PRI_RAW: the raw table's priority.
const PRIORITY_RAW: i32 = -300;

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
/// order: hooks and proc files first, then the control files, then the
/// writers' state (which unpublishes the rules).
struct Ctskip {
    _pernet: kapi::pernet::Pernet<pernet::NetState>,
    _sysfs: kapi::sysfs::Directory<control::Control>,
    _control: Arc<control::Control>,
}

impl kernel::Module for Ctskip {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // The kernel cut `rules="udp dport 53"` (quotes eaten by the shell)
        // at its blanks and set rules=udp: refuse, rather than untrack all
        // UDP in every netns.
        let load_args = kapi::module::LoadArgs::read();
        let split = load_args
            .as_ref()
            .and_then(|a| kapi::args::split_rules(a.bytes()));
        // Only what the kernel itself parsed counts: the value it kept must
        // be the one seen here.
        if let Some(split) = split.filter(|s| s.kept == kapi::module::param_rules()) {
            pr_err!(
                "parameter rules: the value was split at blanks (\"{}\" then \"{}\"): quote it as rules='\"{} {}\"' on the command line, or rules=\"{} {}\" in modprobe.d\n",
                Escaped(split.kept, 80),
                Escaped(split.stray, 80),
                Escaped(split.kept, 80),
                Escaped(split.stray, 80),
                Escaped(split.kept, 80),
                Escaped(split.stray, 80)
            );
            return Err(EINVAL);
        }
        let priority = kapi::module::param_priority();
        if !(PRIORITY_MIN < priority && priority < PRIORITY_MAX) {
            pr_err!(
                "parameter priority: {} is out of range (must be greater than {} and less than {})\n",
                priority,
                PRIORITY_MIN,
                PRIORITY_MAX
            );
            return Err(EINVAL);
        }
        let text = kapi::module::param_rules();
        let planned = rules::plan_replace::<kapi::alloc::KAlloc>(&[], text).map_err(|e| {
            match e {
                rules::SetError::Parse(p) => pr_err!("parameter rules: {}\n", p),
                rules::SetError::TooMany => {
                    pr_err!("parameter rules: more than {} rules\n", rules::MAX_RULES)
                }
                rules::SetError::NotFound(_) | rules::SetError::NoMem => {
                    pr_err!("parameter rules: out of memory\n");
                    return ENOMEM;
                }
            }
            EINVAL
        })?;
        let first =
            ruleset::RuleSet::build(planned.iter().map(|p| p.rule), &[]).map_err(|e| match e {
                rules::BuildError::Limit(l) => {
                    pr_err!("parameter rules: {}\n", l);
                    EINVAL
                }
                rules::BuildError::NoMem => {
                    pr_err!("parameter rules: out of memory\n");
                    ENOMEM
                }
            })?;
        let control = control::Control::new(first)?;
        let sysfs = kapi::sysfs::Directory::new(c"ctskip", &control::FILES, control.clone())?;
        let pernet = pernet::register(priority)?;
        pr_info!("version {} loaded (priority {})\n", VERSION, priority);
        if priority <= PRIORITY_RAW {
            // Before the raw table, a matched packet carries the untracked
            // mark when iptables' raw-table `CT` target sees it, and that
            // target leaves a packet with a conntrack state alone.
            pr_warn!(
                "priority {} runs before the raw table ({}): iptables raw-table CT rules (zone, helper, notrack) do not apply to packets ctskip untracks; nft 'ct zone set' still does\n",
                priority,
                PRIORITY_RAW
            );
        }
        Ok(Ctskip {
            _pernet: pernet,
            _sysfs: sysfs,
            _control: control,
        })
    }
}

impl Drop for Ctskip {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
