// SPDX-License-Identifier: GPL-2.0

//! The module's argument string, split as the kernel splits it
//! (`next_arg()` in kernel/params.c), to find a `rules` value that the
//! kernel cut at blanks.
//!
//! `insmod ctskip.ko rules="udp dport 53"` reaches the kernel as
//! `rules=udp dport 53` (the shell removed the quotes): the kernel sets
//! `rules` to `udp`, warns that `dport` and `53` are unknown parameters and
//! loads the module anyway, which would untrack all UDP. The module reads
//! its whole argument string and refuses that.
//!
//! Pure logic (no kernel calls), compiled by `tests/host` too.

/// Blanks as the kernel's `isspace()` sees them in an argument string.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The module's parameters (the kernel treats `-` and `_` alike in names).
const PARAMS: [&[u8]; 3] = [b"rules", b"priority", b"enabled"];

/// One `name[=value]` of an argument string, quotes removed as the kernel
/// removes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arg<'a> {
    /// The parameter name.
    pub(crate) name: &'a [u8],
    /// The value (`None` without `=`).
    pub(crate) value: Option<&'a [u8]>,
    /// The word as written (quotes included).
    pub(crate) raw: &'a [u8],
}

fn skip_blanks(mut s: &[u8]) -> &[u8] {
    while let [b, rest @ ..] = s {
        if !is_blank(*b) {
            break;
        }
        s = rest;
    }
    s
}

/// Splits `args` as `parse_args()` does: blanks separate words except
/// inside double quotes; a quote right after `=` and a final quote are not
/// part of the value.
pub(crate) fn split<'a>(args: &'a [u8]) -> impl Iterator<Item = Arg<'a>> {
    let mut rest = skip_blanks(args);
    core::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let s = rest;
        let (mut start, mut in_quote) = (0, false);
        if s[0] == b'"' {
            start = 1;
            in_quote = true;
        }
        let quoted = in_quote;
        let mut i = start;
        let mut equals = None;
        while i < s.len() {
            let b = s[i];
            if is_blank(b) && !in_quote {
                break;
            }
            if equals.is_none() && b == b'=' {
                equals = Some(i);
            }
            if b == b'"' {
                in_quote = !in_quote;
            }
            i += 1;
        }
        let word = &s[start..i];
        let raw = &s[..i];
        rest = skip_blanks(&s[i..]);
        // The closing quote of a quoted word or value is dropped.
        Some(match equals {
            None => Arg {
                name: if quoted { unquote_end(word) } else { word },
                value: None,
                raw,
            },
            Some(e) => {
                let name = &s[start..e];
                let mut v = &s[e + 1..i];
                if let [b'"', inner @ ..] = v {
                    v = unquote_end(inner);
                } else if quoted {
                    v = unquote_end(v);
                }
                Arg {
                    name,
                    value: Some(v),
                    raw,
                }
            }
        })
    })
}

/// `v` without a closing double quote.
fn unquote_end(v: &[u8]) -> &[u8] {
    match v {
        [inner @ .., b'"'] => inner,
        _ => v,
    }
}

fn is_param(name: &[u8]) -> bool {
    PARAMS.iter().any(|p| {
        p.len() == name.len()
            && p.iter()
                .zip(name)
                .all(|(a, b)| *a == *b || (*a == b'_' && *b == b'-'))
    })
}

/// A `rules` value that the kernel cut at blanks: the value it kept and the
/// stray words that followed it (as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SplitRules<'a> {
    /// What `rules` was set to.
    pub(crate) kept: &'a [u8],
    /// From the first stray word to the last one (as written, blanks included).
    pub(crate) stray: &'a [u8],
}

/// Finds the words that follow an unquoted `rules=` value and that the
/// kernel could not place: not parameters of this module, not words the
/// kernel handles itself (`dyndbg`, `async_probe`), without `=` (the rule
/// language has none), up to `--` (after which the kernel stops). The
/// kernel set `rules` to the first word only.
pub(crate) fn split_rules(args: &[u8]) -> Option<SplitRules<'_>> {
    let base = args.as_ptr() as usize;
    let mut kept: Option<&[u8]> = None;
    let mut stray: Option<(usize, usize)> = None;
    for a in split(args) {
        if a.raw == b"--" {
            break;
        }
        if is_param(a.name) {
            if stray.is_some() {
                break;
            }
            // A quoted value was not split.
            kept = if a.name == b"rules" && !a.raw.contains(&b'"') {
                a.value
            } else {
                None
            };
            continue;
        }
        if kept.is_none() || a.value.is_some() || a.name == b"dyndbg" || a.name == b"async_probe" {
            if stray.is_some() {
                break;
            }
            kept = None;
            continue;
        }
        let at = a.raw.as_ptr() as usize - base;
        let end = at + a.raw.len();
        stray = Some((stray.map_or(at, |(s, _)| s), end));
    }
    let (s, e) = stray?;
    Some(SplitRules {
        kept: kept.unwrap_or(b""),
        stray: &args[s..e],
    })
}
