// SPDX-License-Identifier: GPL-2.0

//! A rules text that arrives in pieces.
//!
//! A writer's text reaches the module one `write()` at a time: at most a page
//! each, cut anywhere (in the middle of a word, too). [`Incoming`] joins the
//! pieces: it parses every rule as soon as it is complete (ended by a newline,
//! a `;` or a `#` comment), keeps the distinct rules in order, and keeps only
//! the unfinished rule's bytes, so memory stays proportional to the distinct
//! rules whatever the text's size. Errors name the line and rule number in
//! the whole text.

use super::buf::{Alloc, Buf, NoMem};
use super::parse::{could_continue, parse_rule, trim, ParseError};
use super::rule::Rule;
use super::set::{index_of, RuleIndex, SetError, MAX_RULES};

/// The longest rule text accepted (comments excluded): far above any real
/// rule, so that an endless line cannot make each piece parse it again.
pub const MAX_RULE_TEXT: usize = 8192;

/// The reason given for a rule longer than [`MAX_RULE_TEXT`].
const REASON_TOO_LONG: &str = "rule text too long";

/// What the unfinished end of a text reads as, so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Nothing (blank, or a comment).
    Empty,
    /// A whole rule already (more bytes may still change it).
    Rule(Rule),
    /// Not a rule yet, but more bytes could make one.
    Unfinished,
}

/// A text being received: the distinct rules of its complete part, in order,
/// and the unfinished rule after them.
pub struct Incoming<A: Alloc> {
    rules: A::Buf<Rule>,
    /// The line of each rule of `rules` (its first occurrence).
    lines: A::Buf<usize>,
    index: RuleIndex<A>,
    /// The unfinished rule's bytes (no newline, `;` or `#` in them).
    seg: A::Buf<u8>,
    /// Inside a comment: bytes up to the next newline are ignored.
    in_comment: bool,
    /// The line the next byte is on (1 = the first).
    line_no: usize,
    /// Rules (not blank) seen so far, duplicates included.
    rule_no: usize,
    /// Bytes received.
    len: usize,
    /// Where the unfinished rule began (a byte offset in the text).
    seg_start: usize,
}

impl<A: Alloc> Incoming<A> {
    /// An empty text.
    pub fn new() -> Result<Self, NoMem> {
        Ok(Incoming {
            rules: A::Buf::with_capacity(0)?,
            lines: A::Buf::with_capacity(0)?,
            index: RuleIndex::with_capacity(0)?,
            seg: A::Buf::with_capacity(0)?,
            in_comment: false,
            line_no: 1,
            rule_no: 0,
            len: 0,
            seg_start: 0,
        })
    }

    /// Bytes received so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was received.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The distinct rules of the complete part, in the order written.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The line on which rule `i` of [`Incoming::rules`] was written.
    pub fn line_of(&self, i: usize) -> usize {
        self.lines.get(i).copied().unwrap_or(0)
    }

    /// The byte offset in the text where its unfinished end began.
    pub fn tail_start(&self) -> usize {
        self.seg_start
    }

    /// The line the unfinished end of the text is on.
    pub fn line_no(&self) -> usize {
        self.line_no
    }

    /// Appends one piece. Every rule the piece completes is parsed; the
    /// first one that does not parse is an error (and the text is then
    /// unusable: drop it).
    // A large error by value: see `rules::set`.
    #[allow(clippy::result_large_err)]
    pub fn push(&mut self, piece: &[u8]) -> Result<(), SetError<'_>> {
        let at = self.len;
        self.len += piece.len();
        let mut err = None;
        for (i, &b) in piece.iter().enumerate() {
            if self.in_comment {
                if b == b'\n' {
                    self.in_comment = false;
                    self.line_no += 1;
                    self.seg_start = at + i + 1;
                }
                continue;
            }
            match b {
                b'\n' | b';' | b'#' => {
                    if let Err(e) = self.end_rule() {
                        err = Some(e);
                        break;
                    }
                    match b {
                        b'\n' => self.line_no += 1,
                        b'#' => self.in_comment = true,
                        _ => {}
                    }
                    self.seg_start = at + i + 1;
                }
                _ => {
                    if self.seg.len() >= MAX_RULE_TEXT {
                        err = Some(Ended::TooLong);
                        break;
                    }
                    self.seg.push(b)?;
                }
            }
        }
        match err {
            None => Ok(()),
            Some(Ended::NoMem) => Err(SetError::NoMem),
            Some(Ended::TooMany) => Err(SetError::TooMany),
            Some(Ended::TooLong) => Err(SetError::Parse(self.seg_error(REASON_TOO_LONG))),
            Some(Ended::Bad) => match parse_rule(trim(&self.seg), self.rule_no + 1) {
                Err(e) => Err(SetError::Parse(ParseError {
                    line_no: self.line_no,
                    ..e
                })),
                // Not reached: `Bad` means the segment did not parse.
                Ok(_) => Err(SetError::Parse(self.seg_error("unparsable"))),
            },
        }
    }

    /// The unfinished end of the text: what it reads as now, or an error if
    /// no further bytes could make it a rule.
    pub fn tail(&self) -> Result<Tail, ParseError<'_>> {
        let text = trim(&self.seg);
        if text.is_empty() {
            return Ok(Tail::Empty);
        }
        match parse_rule(text, self.rule_no + 1) {
            Ok(r) => Ok(Tail::Rule(r)),
            Err(_) if could_continue(&self.seg) => Ok(Tail::Unfinished),
            Err(e) => Err(ParseError {
                line_no: self.line_no,
                ..e
            }),
        }
    }

    /// Why the unfinished end of the text is not a rule (yet); `None` if it
    /// is one, or empty.
    pub fn tail_error(&self) -> Option<ParseError<'_>> {
        let text = trim(&self.seg);
        if text.is_empty() {
            return None;
        }
        parse_rule(text, self.rule_no + 1)
            .err()
            .map(|e| ParseError {
                line_no: self.line_no,
                ..e
            })
    }

    /// The rule in `seg` is complete: parse it and keep it if it is new.
    fn end_rule(&mut self) -> Result<(), Ended> {
        let text = trim(&self.seg);
        if !text.is_empty() {
            let rule = parse_rule(text, self.rule_no + 1).map_err(|_| Ended::Bad)?;
            self.rule_no += 1;
            // Every rule parsed, repeats too.
            A::relax();
            if self.index.find(&self.rules, &rule).is_none() {
                if self.rules.len() >= MAX_RULES {
                    return Err(Ended::TooMany);
                }
                self.rules.push(rule).map_err(|_| Ended::NoMem)?;
                self.lines.push(self.line_no).map_err(|_| Ended::NoMem)?;
                if !self.index.has_room() {
                    self.index = index_of::<A>(&self.rules, 2 * self.rules.len())
                        .map_err(|_| Ended::NoMem)?;
                } else {
                    self.index
                        .insert(&self.rules, (self.rules.len() - 1) as u32);
                }
            }
        }
        self.seg.clear();
        Ok(())
    }

    fn seg_error(&self, reason: &'static str) -> ParseError<'_> {
        let text = trim(&self.seg);
        let word = &text[..text.len().min(40)];
        ParseError {
            rule_no: self.rule_no + 1,
            line_no: self.line_no,
            text,
            word,
            reason,
        }
    }
}

/// Why [`Incoming::end_rule`] failed (the error is built afterwards, when
/// it may borrow the segment).
enum Ended {
    Bad,
    TooMany,
    TooLong,
    NoMem,
}
