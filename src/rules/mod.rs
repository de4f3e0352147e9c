// SPDX-License-Identifier: GPL-2.0

//! The kernel-free core of ctskip: the rule language (parse, canonical print),
//! the rule-set operations behind `rules`/`add`/`del`, the packet key, and the
//! classifier that matches a key against a rule set.
//!
//! Nothing here uses `kernel::` or C bindings: the same files are compiled into
//! the module and, on the host, by `tests/host` (unit tests, property tests,
//! fuzzing). Memory comes through the [`Alloc`] trait, so every allocation is
//! fallible and the caller picks the allocator (`KVVec` in the kernel).

pub mod buf;
pub mod classify;
mod flat;
mod intervals;
pub mod key;
pub mod limit;
pub mod parse;
pub mod print;
pub mod rule;
pub mod set;
mod shape;
pub mod sort;
pub mod text;

pub use buf::{Alloc, Buf, NoMem};
pub use classify::{Classifier, Cost};
pub use key::{Fields, Head, PacketKey, Quick};
pub use limit::{BuildError, Limit, LimitKind};
pub use parse::{parse_rules, ParseError};
pub use rule::{Family, IfName, PortRange, Prefix, Rule};
pub use set::{plan_add, plan_del, plan_replace, RulesError, SetError, MAX_RULES};
pub use text::{Incoming, Tail};
