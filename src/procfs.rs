// SPDX-License-Identifier: GPL-2.0

//! /proc/net/ctskip: the reader's own netns counters, one `name value` per
//! line (mode 0444; opening it from another netns needs CAP_NET_ADMIN over
//! it, else EACCES: see `kapi::proc`). Then conntrack's own count and limit.

use core::fmt::Write;

use kernel::prelude::*;

use crate::counters::{figures, STAT_NAMES};
use crate::hook::Stats;
use crate::kapi::pernet::{conntrack_max, Net};
use crate::kapi::proc::{SeqFile, Show};
use crate::rules::print::SliceWriter;

/// The file's text, from the netns's counters (the entry's data).
pub(crate) struct Figures;

impl Show for Figures {
    type Data = Stats;

    fn show(stats: &Stats, net: &Net, out: &mut SeqFile) -> Result {
        let mut buf = [0u8; 640];
        let mut w = SliceWriter::new(&mut buf);
        for (name, v) in STAT_NAMES.iter().zip(figures(&stats.sums())) {
            writeln!(w, "{} {}", name, v).map_err(|_| ENOMEM)?;
        }
        // How close this netns is to `table full`: its conntrack entries,
        // and the limit they are checked against.
        writeln!(w, "conntrack_count {}", net.conntrack_count()).map_err(|_| ENOMEM)?;
        writeln!(w, "conntrack_max {}", conntrack_max()).map_err(|_| ENOMEM)?;
        let n = w.len();
        out.write(&buf[..n]);
        Ok(())
    }
}
