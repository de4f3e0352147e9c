// SPDX-License-Identifier: GPL-2.0

//! The control files under /sys/kernel/ctskip/ and what writes to them do.
//!
//! - `rules`, `add`, `del`: a text written through one open file, in as many
//!   `write()` calls as it takes. The active set follows the text as it
//!   arrives; a refused piece returns the set to what it was before the
//!   file's first write. While one file's text is in progress, every other
//!   writer gets EBUSY.
//! - `stage` + `commit`: a text that changes the set only when its writer
//!   commits it, all at once.
//! - `enabled`, `hits`: the switch and the per-rule counts.
//!
//! sysfs does not say when a file is closed: ctskip holds a reference to the
//! writer's file and sees it closed once that reference is the last one.

use kernel::alloc::{flags::GFP_KERNEL, KBox, KVVec};
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::kapi::alloc::KAlloc;
use crate::kapi::file::{File, FileRef};
use crate::kapi::log::{err_anyone, err_limited, warn_limited};
use crate::kapi::module;
use crate::kapi::mutex::{Class, KMutex};
use crate::kapi::poll::{Poller, Tick};
use crate::kapi::process::{self, Process};
use crate::kapi::sysfs::{FileSpec, Files};
use crate::rules::set::{add_rules, del_rules, plan_replace, replace_with};
use crate::rules::{BuildError, Incoming, ParseError, Rule, RulesError, SetError, Tail, MAX_RULES};
use crate::ruleset::{self, Publisher, RuleSet};

/// The most one open file may write (65,536 rules of up to about 250 bytes).
pub(crate) const TEXT_MAX: usize = 16 << 20;

/// Open files whose reads are kept as snapshots at once (more evict the
/// oldest).
const MAX_READERS: usize = 64;

/// The files, in the order of their ids.
pub(crate) static FILES: [FileSpec; 7] = [
    FileSpec {
        name: c"rules",
        mode: 0o600,
        read: true,
        write: true,
    },
    FileSpec {
        name: c"add",
        mode: 0o200,
        read: false,
        write: true,
    },
    FileSpec {
        name: c"del",
        mode: 0o200,
        read: false,
        write: true,
    },
    FileSpec {
        name: c"stage",
        mode: 0o200,
        read: false,
        write: true,
    },
    FileSpec {
        name: c"commit",
        mode: 0o200,
        read: false,
        write: true,
    },
    FileSpec {
        name: c"enabled",
        mode: 0o644,
        read: true,
        write: true,
    },
    FileSpec {
        name: c"hits",
        mode: 0o400,
        read: true,
        write: false,
    },
];
const RULES: usize = 0;
const ADD: usize = 1;
const DEL: usize = 2;
const STAGE: usize = 3;
const COMMIT: usize = 4;
const ENABLED: usize = 5;
const HITS: usize = 6;

fn name(id: usize) -> &'static str {
    ["rules", "add", "del", "stage", "commit", "enabled", "hits"]
        .get(id)
        .copied()
        .unwrap_or("?")
}

/// What a text to `rules`, `add` or `del` does to the set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Replace,
    Add,
    Del,
}

/// Where a text may end, as far as ctskip can tell after a piece.
#[derive(Clone, Copy)]
enum End {
    /// A page-long piece: kernfs cut a longer write, more is coming.
    More,
    /// The piece ended in the middle of a line that began before it.
    Open,
    /// The writer's `write()` ended after a line that began in it.
    WriteEnded,
    /// The file was closed: nothing more can come.
    Closed,
}

/// Who wrote a staged text: the process, and its parent (the shell that
/// ran `cat ... > stage` and then writes `commit`).
struct Owner {
    writer: Option<Process>,
    parent: Option<Process>,
}

impl Owner {
    fn current() -> Self {
        Owner {
            writer: Process::current(),
            parent: Process::parent(),
        }
    }

    fn is_current(&self) -> bool {
        self.writer.as_ref().is_some_and(|p| p.is_current())
            || self.parent.as_ref().is_some_and(|p| p.is_current())
    }

    fn is_writer(&self) -> bool {
        self.writer.as_ref().is_some_and(|p| p.is_current())
    }

    fn alive(&self) -> bool {
        self.writer.as_ref().is_some_and(|p| p.alive())
            || self.parent.as_ref().is_some_and(|p| p.alive())
    }

    fn nr(&self) -> i32 {
        self.writer.as_ref().map_or(0, |p| p.nr())
    }
}

/// A text to `rules`, `add` or `del` in progress.
struct RulesText {
    kind: Kind,
    /// The set before the text's first piece (restored if a piece is refused).
    before: Arc<RuleSet>,
    incoming: KBox<Incoming<KAlloc>>,
    /// Whether the set was published for this text at least once.
    published: bool,
    /// What was last published: rules of `incoming` and the tail rule.
    published_rules: usize,
    published_tail: Option<Rule>,
}

enum Body {
    Rules(RulesText),
    Stage(KVVec<u8>, Owner),
    /// A refused text: its later pieces are refused too.
    Failed,
}

/// The text one open file is writing.
struct Text {
    file: FileRef,
    id: usize,
    /// Bytes received (the next piece's offset).
    len: usize,
    body: Body,
}

/// A staged text whose writer has finished, waiting for its commit.
struct Staged {
    text: KVVec<u8>,
    owner: Owner,
    /// When its writer finished (ms since boot).
    since: u64,
}

/// After this long with its writer gone, anyone may discard a stage.
const ABANDONED_MS: u64 = 60_000;

/// The writers' state, behind their mutex.
struct Writers {
    publisher: Publisher,
    text: Option<Text>,
    staged: Option<Staged>,
}

/// A reader's snapshot: what one open file of `rules` or `hits` reads.
struct Snapshot {
    file: FileRef,
    id: usize,
    /// The set read (for `rules`) ...
    set: Arc<RuleSet>,
    /// ... or its counts, rendered once (for `hits`).
    hits: Option<KVVec<u8>>,
}

/// How often, while a text is in progress, ctskip looks whether its file
/// was closed (then the text's end is final).
const POLL_MS: u32 = 20;

/// The control files' state.
#[pin_data]
pub(crate) struct Control {
    /// First, so that it is dropped (and its calls waited for) first.
    poller: Poller<Control>,
    #[pin]
    writers: KMutex<Writers>,
    #[pin]
    readers: KMutex<Readers>,
}

/// The readers' snapshots, one slot per open file.
struct Readers {
    slots: [Option<Snapshot>; MAX_READERS],
    /// The slot to reuse next when all are taken.
    evict: usize,
}

impl Control {
    /// The control state, with `first` published.
    pub(crate) fn new(first: Arc<RuleSet>) -> Result<Arc<Control>> {
        let publisher = Publisher::new(first)?;
        let poller = Poller::new()?;
        let c = Arc::pin_init(
            pin_init!(Control {
                poller,
                writers <- KMutex::new(Writers { publisher, text: None, staged: None }, Class::Writers),
                readers <- KMutex::new(Readers { slots: [const { None }; MAX_READERS], evict: 0 }, Class::Readers),
            }),
            GFP_KERNEL,
        )?;
        c.poller.bind(&c);
        Ok(c)
    }
}

/// Logs a parse error with its line in the whole text.
fn log_parse(file: &str, e: &ParseError<'_>) {
    err_limited!("{}: {}\n", file, e.with_line());
}

impl Writers {
    /// Ends what is over: a text whose file every writer closed (its
    /// unfinished end is final now: applied if it is a rule, else the whole
    /// text is undone), a staged text whose writer and parent are gone.
    fn settle(&mut self) {
        if self
            .text
            .as_ref()
            .is_some_and(|t| t.file.closed_elsewhere())
        {
            if matches!(self.text.as_ref().map(|t| &t.body), Some(Body::Rules(_))) {
                // The last chance to apply the text's end; a refusal undoes
                // the text (logged: nobody is left to get the errno).
                let _ = self.update(End::Closed).map_err(|e| self.refuse(e));
            }
            if let Some(t) = self.text.take() {
                if let Body::Stage(text, owner) = t.body {
                    self.staged = Some(Staged {
                        text,
                        owner,
                        since: crate::kapi::now_ms(),
                    });
                }
            }
        }
        if self.staged.as_ref().is_some_and(|s| !s.owner.alive()) {
            self.staged = None;
        }
    }

    /// Whether a text is in progress (its file still open).
    fn busy(&self) -> bool {
        self.text.is_some()
    }

    /// Puts back the set from before a refused text, and marks it failed.
    fn refuse(&mut self, err: Error) -> Error {
        if let Some(t) = self.text.as_mut() {
            if let Body::Rules(r) = core::mem::replace(&mut t.body, Body::Failed) {
                self.publisher.publish(r.before);
            }
        }
        err
    }

    /// One piece of a text to `rules`, `add`, `del` or `stage`.
    fn piece(&mut self, id: usize, file: &File, off: usize, data: &[u8]) -> Result<usize> {
        self.settle();
        let mine = self.text.as_ref().is_some_and(|t| t.file.is(file));
        if !mine
            && self
                .text
                .as_ref()
                .is_some_and(|t| !matches!(t.body, Body::Failed))
        {
            err_limited!(
                "{}: another writer's text is still arriving (EBUSY)\n",
                name(id)
            );
            return Err(EBUSY);
        }
        if mine && off == 0 && self.text.as_ref().is_some_and(|t| t.len > 0) {
            // The same file starts over (seek to 0): the earlier text stands.
            if let Some(Text {
                body: Body::Stage(text, owner),
                ..
            }) = self.text.take()
            {
                self.staged = Some(Staged {
                    text,
                    owner,
                    since: crate::kapi::now_ms(),
                });
            }
        }
        if self.text.as_ref().is_some_and(|t| t.file.is(file)) {
            let t = self.text.as_ref().map_or(0, |t| t.len);
            if matches!(self.text.as_ref().map(|t| &t.body), Some(Body::Failed)) {
                return Err(EINVAL);
            }
            if off != t {
                err_limited!(
                    "{}: write at offset {} does not continue the text ({} bytes so far)\n",
                    name(id),
                    off,
                    t
                );
                return Err(self.refuse(EINVAL));
            }
        } else {
            if off != 0 {
                err_limited!(
                    "{}: write at offset {} continues no text (start at offset 0)\n",
                    name(id),
                    off
                );
                return Err(EINVAL);
            }
            self.start(id, file)?;
        }
        if off + data.len() > TEXT_MAX {
            err_limited!(
                "{}: the text would exceed {} bytes (EFBIG)\n",
                name(id),
                TEXT_MAX
            );
            return Err(self.refuse(EFBIG));
        }
        let r = self.take(data);
        if let Some(t) = self.text.as_mut() {
            t.len += data.len();
        }
        r.map(|()| data.len()).map_err(|e| self.refuse(e))
    }

    /// Starts a text for `file`.
    fn start(&mut self, id: usize, file: &File) -> Result {
        let body = if id == STAGE {
            if let Some(s) = &self.staged {
                if !s.owner.is_current() {
                    err_limited!(
                        "stage: a staged text of process {} waits for its commit (EBUSY)\n",
                        s.owner.nr()
                    );
                    return Err(EBUSY);
                }
            }
            self.staged = None;
            Body::Stage(KVVec::new(), Owner::current())
        } else {
            let kind = match id {
                ADD => Kind::Add,
                DEL => Kind::Del,
                _ => Kind::Replace,
            };
            let incoming = KBox::new(Incoming::new().map_err(|_| ENOMEM)?, GFP_KERNEL)?;
            Body::Rules(RulesText {
                kind,
                before: self.publisher.current().clone(),
                incoming,
                published: false,
                published_rules: 0,
                published_tail: None,
            })
        };
        self.text = Some(Text {
            file: file.hold(),
            id,
            len: 0,
            body,
        });
        Ok(())
    }

    /// Takes a piece into the text in progress and updates the set.
    fn take(&mut self, data: &[u8]) -> Result {
        let Some(t) = self.text.as_mut() else {
            return Err(EINVAL);
        };
        let file = name(t.id);
        let r = match &mut t.body {
            Body::Stage(text, _) => {
                return text.extend_from_slice(data, GFP_KERNEL).map_err(|_| {
                    err_limited!("stage: out of memory\n");
                    ENOMEM
                });
            }
            Body::Rules(r) => r,
            Body::Failed => return Err(EINVAL),
        };
        let start = r.incoming.len();
        if let Err(e) = r.incoming.push(data) {
            return Err(set_error(file, e));
        }
        let end = if data.len() >= PAGE_SIZE {
            // kernfs cut a longer write at a page: more is coming.
            End::More
        } else if r.incoming.tail_start() >= start && data.len() > 1 {
            End::WriteEnded
        } else {
            // A line's later bytes (`dd bs=1`, a line split across writes).
            End::Open
        };
        self.update(end)
    }

    /// Applies the text in progress as far as it goes, given where it may
    /// end (see [`End`]).
    ///
    /// The complete rules received so far apply (except while a page-long
    /// write is still arriving). The unfinished end of the text (after its
    /// last newline, `;` or comment) applies when the writer's `write()`
    /// ended there and it is a rule (for `del`, a present one); at close it
    /// must be one. Otherwise it waits for the next piece (a line split
    /// across writes is one line), or is refused at once if no bytes could
    /// make it a rule.
    fn update(&mut self, end: End) -> Result {
        let Some(t) = self.text.as_mut() else {
            return Ok(());
        };
        let file = name(t.id);
        let Body::Rules(r) = &mut t.body else {
            return Ok(());
        };
        let mut tail = match r.incoming.tail() {
            Err(e) => {
                log_parse(file, &e);
                return Err(EINVAL);
            }
            Ok(Tail::Rule(rule)) if matches!(end, End::WriteEnded | End::Closed) => Some(rule),
            Ok(Tail::Unfinished) if matches!(end, End::Closed) => {
                if let Some(e) = r.incoming.tail_error() {
                    err_limited!(
                        "{}: {} (the text ended there; the earlier rules are back)\n",
                        file,
                        e.with_line()
                    );
                }
                return Err(EINVAL);
            }
            Ok(_) => None,
        };
        if r.kind == Kind::Del
            && !matches!(end, End::Closed)
            && tail.is_some_and(|t| !r.before.rules().contains(&t))
        {
            tail = None;
        }
        if matches!(end, End::More) {
            return Ok(());
        }
        let n = r.incoming.rules().len();
        if r.published && n == r.published_rules && tail == r.published_tail {
            return Ok(());
        }
        // The text's rules so far, the tail last (if it is new).
        let mut list = KVVec::with_capacity(n + 1, GFP_KERNEL)?;
        list.extend_from_slice(r.incoming.rules(), GFP_KERNEL)?;
        if let Some(rule) = tail {
            if !list.contains(&rule) {
                list.push(rule, GFP_KERNEL)?;
            }
        }
        let before = r.before.rules();
        let planned = match r.kind {
            Kind::Replace => replace_with::<KAlloc>(&[], &list),
            Kind::Add => add_rules::<KAlloc>(before, &list),
            Kind::Del => del_rules::<KAlloc>(before, &list),
        };
        let planned = planned.map_err(|e| match e {
            RulesError::TooMany => {
                err_limited!(
                    "{}: line {}: more than {} rules\n",
                    file,
                    r.incoming.line_no(),
                    MAX_RULES
                );
                ENOSPC
            }
            RulesError::NotFound(rule) => {
                let line = r
                    .incoming
                    .rules()
                    .iter()
                    .position(|x| *x == rule)
                    .map_or(r.incoming.line_no(), |i| r.incoming.line_of(i));
                err_limited!("{}: line {}: rule not present: {}\n", file, line, rule);
                ENOENT
            }
            RulesError::NoMem => {
                err_limited!("{}: line {}: out of memory\n", file, r.incoming.line_no());
                ENOMEM
            }
        })?;
        r.published = true;
        r.published_rules = n;
        r.published_tail = tail;
        // The counts of the rules kept: from the published set (this text's
        // last step), else from the set before the text (a rule active
        // before that arrives in a later write of the text).
        let kept = [&**self.publisher.current(), &*r.before];
        let set = RuleSet::build(planned.iter().map(|p| p.rule), &kept).map_err(|e| {
            // Where the rule that went past a bound is: a line of this
            // text, or (for `add` and `del`) an earlier rule of the set.
            let at = match &e {
                BuildError::Limit(l) => r
                    .incoming
                    .rules()
                    .iter()
                    .position(|x| *x == l.rule)
                    .map_or(At::Active, |i| At::Line(r.incoming.line_of(i))),
                BuildError::NoMem => At::Line(r.incoming.line_no()),
            };
            build_error(file, at, e)
        })?;
        self.publisher.publish(set);
        Ok(())
    }

    /// `commit`: 1 applies the staged text, 0 discards it.
    fn commit(&mut self, apply: bool) -> Result {
        self.settle();
        if let Some(t) = &self.text {
            match &t.body {
                Body::Stage(_, owner) if owner.is_writer() => {
                    // The writer commits its own stage: it has finished.
                    if let Some(Text {
                        body: Body::Stage(text, owner),
                        ..
                    }) = self.text.take()
                    {
                        self.staged = Some(Staged {
                            text,
                            owner,
                            since: crate::kapi::now_ms(),
                        });
                    }
                }
                Body::Stage(..) => {
                    err_limited!("commit: the stage's writer has not finished (its file is still open) (EBUSY)\n");
                    return Err(EBUSY);
                }
                Body::Rules(_) => {
                    err_limited!("commit: another writer's text is still arriving (EBUSY)\n");
                    return Err(EBUSY);
                }
                Body::Failed => {}
            }
        }
        let Some(staged) = self.staged.take() else {
            err_limited!("commit: nothing staged\n");
            return Err(crate::kapi::enodata());
        };
        // Its owner commits or discards it; anyone may discard a stage whose
        // writer has been gone for a minute (a killed `ctskipctl load` under
        // a long-lived shell or service manager).
        let abandoned = !apply
            && !staged.owner.writer.as_ref().is_some_and(|p| p.alive())
            && crate::kapi::now_ms().saturating_sub(staged.since) > ABANDONED_MS;
        if !staged.owner.is_current() && !abandoned {
            err_limited!(
                "commit: the staged text belongs to process {} (EBUSY)\n",
                staged.owner.nr()
            );
            self.staged = Some(staged);
            return Err(EBUSY);
        }
        if !apply {
            return Ok(());
        }
        let planned = plan_replace::<KAlloc>(self.publisher.current().rules(), &staged.text)
            .map_err(|e| match e {
                SetError::Parse(p) => {
                    log_parse("commit", &p);
                    EINVAL
                }
                SetError::TooMany => {
                    err_limited!("commit: more than {} rules\n", MAX_RULES);
                    ENOSPC
                }
                SetError::NotFound(_) | SetError::NoMem => {
                    err_limited!("commit: out of memory\n");
                    ENOMEM
                }
            })?;
        let set = RuleSet::build(planned.iter().map(|p| p.rule), &[self.publisher.current()])
            .map_err(|e| build_error("commit", At::Text, e))?;
        if process::killed() {
            // Killed while the set was built (a large commit): nobody is
            // left to see the result, so the set stays as it was.
            err_limited!("commit: the writer was killed; the rules are unchanged, the stage discarded (EINTR)\n");
            return Err(EINTR);
        }
        self.publisher.publish(set);
        Ok(())
    }
}

/// Where the rule a build names is.
enum At {
    /// This line of the text.
    Line(usize),
    /// Already in the set (a text for `add` or `del` changed its company).
    Active,
    /// In the text as a whole (`commit`).
    Text,
}

/// The errno and log line of a set that could not be built: ENOSPC for one
/// past a bound on the work per packet (the line says which bound and what
/// to do), ENOMEM.
fn build_error(file: &str, at: At, e: BuildError) -> Error {
    match (e, at) {
        (BuildError::Limit(l), At::Line(n)) => {
            err_limited!("{}: line {}: {} (ENOSPC)\n", file, n, l);
            ENOSPC
        }
        (BuildError::Limit(l), At::Active) => {
            err_limited!("{}: {} (that rule was already active) (ENOSPC)\n", file, l);
            ENOSPC
        }
        (BuildError::Limit(l), At::Text) => {
            err_limited!("{}: {} (ENOSPC)\n", file, l);
            ENOSPC
        }
        (BuildError::NoMem, At::Line(n)) => {
            err_limited!("{}: line {}: out of memory\n", file, n);
            ENOMEM
        }
        (BuildError::NoMem, _) => {
            err_limited!("{}: out of memory\n", file);
            ENOMEM
        }
    }
}

/// The errno and log line of a refused piece.
fn set_error(file: &str, e: SetError<'_>) -> Error {
    match e {
        SetError::Parse(p) => {
            log_parse(file, &p);
            EINVAL
        }
        SetError::TooMany => {
            err_limited!("{}: more than {} rules\n", file, MAX_RULES);
            ENOSPC
        }
        SetError::NotFound(r) => {
            err_limited!("{}: rule not present: {}\n", file, r);
            ENOENT
        }
        SetError::NoMem => {
            err_limited!("{}: out of memory\n", file);
            ENOMEM
        }
    }
}

/// A `1` or `0` (with or without a newline).
fn flag(file: &str, data: &[u8], hint: &str) -> Result<bool> {
    match data {
        b"1" | b"1\n" => Ok(true),
        b"0" | b"0\n" => Ok(false),
        other => {
            err_limited!(
                "{}: invalid value \"{}\" ({})\n",
                file,
                crate::rules::print::Escaped(other, 40),
                hint
            );
            Err(EINVAL)
        }
    }
}

/// Copies `src[off..]` into `out`; returns the bytes copied.
fn copy_window(src: &[u8], off: usize, out: &mut [u8]) -> usize {
    let Some(rest) = src.get(off..) else { return 0 };
    let n = out.len().min(rest.len());
    out[..n].copy_from_slice(&rest[..n]);
    n
}

impl Control {
    /// A read of `rules` or `hits`: a snapshot per open file, taken at
    /// offset 0 and continued by later reads of the same file. No writer
    /// lock is taken.
    fn read_set(&self, id: usize, file: &File, off: usize, out: &mut [u8]) -> Result<usize> {
        let render = |set: &Arc<RuleSet>| -> Result<Option<KVVec<u8>>> {
            Ok(if id == HITS {
                Some(set.render_hits()?)
            } else {
                None
            })
        };
        if !file.opener_is_net_admin() {
            // Per-rule counts sum every netns's traffic (other tenants'
            // volumes), and the rules are the host's policy: as for
            // `iptables -L`, only CAP_NET_ADMIN may read them.
            err_anyone!(
                "{}: permission denied (reading needs CAP_NET_ADMIN in the initial user namespace)\n",
                name(id)
            );
            return Err(EPERM);
        }
        if file.writable() {
            // No snapshot: a file opened for writing too may be a writer's
            // text file (a reference here would hide its close). It reads
            // the current set at each read.
            let set = ruleset::active_arc().ok_or(ENODEV)?;
            return Ok(match render(&set)? {
                Some(h) => copy_window(&h, off, out),
                None => copy_window(set.text(), off, out),
            });
        }
        // A new snapshot at offset 0, made before taking the lock (readers
        // do not wait for one another's rendering).
        let fresh = if off == 0 {
            let set = ruleset::active_arc().ok_or(ENODEV)?;
            let hits = render(&set)?;
            Some(Snapshot {
                file: file.hold(),
                id,
                set,
                hits,
            })
        } else {
            None
        };
        // Snapshots this read replaces or finds closed, moved out and
        // dropped once the lock below is released (declared before it): the
        // last reference to a large set may go with them, and other readers
        // do not wait for its free. Room for them is made before the lock on
        // the reads that make a snapshot (elsewhere, rarely, under it; if
        // that fails, the snapshot is dropped there).
        let mut gone = KVVec::new();
        if fresh.is_some() {
            gone = KVVec::with_capacity(MAX_READERS + 1, GFP_KERNEL)?;
        }
        let mut guard = self.readers.lock_killable()?;
        let readers = &mut *guard;
        for slot in readers.slots.iter_mut() {
            if slot.as_ref().is_some_and(|s| s.file.closed_elsewhere()) {
                if let Some(s) = slot.take() {
                    // Without room, the push drops it here.
                    let _ = gone.push(s, GFP_KERNEL);
                }
            }
        }
        let found = readers
            .slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.file.is(file) && s.id == id));
        let at = match (fresh, found) {
            (Some(snap), _) => {
                let i = match found.or_else(|| readers.slots.iter().position(|s| s.is_none())) {
                    Some(i) => i,
                    None => {
                        readers.evict = (readers.evict + 1) % MAX_READERS;
                        readers.evict
                    }
                };
                if let Some(old) = readers.slots[i].replace(snap) {
                    let _ = gone.push(old, GFP_KERNEL);
                }
                i
            }
            (None, Some(i)) => i,
            (None, None) => {
                // The snapshot this file began is gone (more than
                // MAX_READERS files read at once): reading on would join
                // two sets.
                warn_limited!(
                    "{}: more than {} files read at once; start again at offset 0\n",
                    name(id),
                    MAX_READERS
                );
                return Err(crate::kapi::estale());
            }
        };
        let Some(s) = &readers.slots[at] else {
            return Err(EINVAL);
        };
        let src = match &s.hits {
            Some(h) => &h[..],
            None => s.set.text(),
        };
        Ok(copy_window(src, off, out))
    }
}

impl Tick for Control {
    /// While a text is in progress: has its writer closed the file?
    fn tick(&self) {
        let mut w = self.writers.lock();
        w.settle();
        if w.busy() {
            self.poller.arm(POLL_MS);
        }
    }
}

impl Files for Control {
    fn read(&self, id: usize, file: &File, off: usize, out: &mut [u8]) -> Result<usize> {
        match id {
            RULES | HITS => self.read_set(id, file, off, out),
            ENABLED => Ok(copy_window(
                if module::enabled() { b"1\n" } else { b"0\n" },
                off,
                out,
            )),
            _ => Err(EINVAL),
        }
    }

    fn write(&self, id: usize, file: &File, off: usize, data: &[u8]) -> Result<usize> {
        if !file.opener_is_net_admin() {
            err_anyone!(
                "{}: permission denied (needs CAP_NET_ADMIN in the initial user namespace)\n",
                name(id)
            );
            return Err(EPERM);
        }
        match id {
            RULES | ADD | DEL | STAGE => {
                let mut w = self.writers.lock_killable()?;
                let r = w.piece(id, file, off, data);
                if w.busy() {
                    self.poller.arm(POLL_MS);
                }
                r
            }
            COMMIT => {
                let apply = flag("commit", data, "write 1 to commit, 0 to discard")?;
                self.writers.lock_killable()?.commit(apply)?;
                Ok(data.len())
            }
            ENABLED => {
                let on = flag("enabled", data, "write 1 or 0")?;
                module::set_enabled(on);
                Ok(data.len())
            }
            _ => Err(EINVAL),
        }
    }
}
