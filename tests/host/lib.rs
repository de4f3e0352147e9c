//! Host build of ctskip's kernel-free core: the very files the module compiles
//! (`src/rules/`), built `no_std` here too, with `Vec` as the allocator.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;

#[path = "../../src/rules/mod.rs"]
pub mod rules;

use rules::{Alloc, Buf, NoMem};

/// The host allocator: plain `Vec` (growth failures abort, as usual in std).
pub struct Host;

impl Alloc for Host {
    type Buf<T: Copy> = Vec<T>;
}

impl<T: Copy> Buf<T> for Vec<T> {
    fn with_capacity(n: usize) -> Result<Self, NoMem> {
        let mut v = Vec::new();
        v.try_reserve(n).map_err(|_| NoMem)?;
        Ok(v)
    }

    fn push(&mut self, v: T) -> Result<(), NoMem> {
        self.try_reserve(1).map_err(|_| NoMem)?;
        Vec::push(self, v);
        Ok(())
    }

    fn truncate(&mut self, n: usize) {
        Vec::truncate(self, n);
    }
}

/// Parses `text` into rules (test helper).
pub fn parse(text: &str) -> Result<Vec<rules::Rule>, alloc::string::String> {
    let mut v = Vec::new();
    rules::parse_rules::<()>(text.as_bytes(), |r| {
        v.push(r);
        Ok(())
    })
    .map_err(|e| match e {
        Ok(p) => alloc::format!("{p}"),
        Err(()) => alloc::string::String::from("callback"),
    })?;
    Ok(v)
}

/// Canonical text of a rule (test helper).
pub fn canon(r: &rules::Rule) -> alloc::string::String {
    alloc::format!("{r}")
}
