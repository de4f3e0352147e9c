// SPDX-License-Identifier: GPL-2.0

//! This network namespace's conntrack entries, from one of two sources:
//!
//! - **libnetfilter_conntrack** (the netfilter project's own ctnetlink
//!   library, as `conntrack -L` uses it): a dump of every entry with its
//!   original and reply tuples, status bits, mark, zone and helper. It is
//!   loaded at run time (`dlopen("libnetfilter_conntrack.so.3")`, installed
//!   with `conntrack` and `iptables`), so building ctskipctl needs no
//!   development package.
//! - **`/proc/net/nf_conntrack`** (the kernel's own text, with
//!   `CONFIG_NF_CONNTRACK_PROCFS`) where the library is missing. It shows
//!   both tuples, the mark and the zone, not the status bits or helpers.
//!
//! NAT, from either source: a reply tuple that is not the original's
//! inverse (nf_nat_setup_info sets `IPS_SRC_NAT`/`IPS_DST_NAT` exactly when
//! it changes the tuple; IPVS's conntrack mode, `net.ipv4.vs.conntrack=1`,
//! changes it without setting them), or, from the library, those bits.
//!
//! The C library's calls are the only `unsafe` here, each with its reason.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One conntrack entry, as the suggestions need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The original direction's source, destination, protocol and ports
    /// (`None` for protocols without ports).
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) proto: u8,
    pub(crate) sport: Option<u16>,
    pub(crate) dport: Option<u16>,
    /// The reply direction's source and source port: after DNAT, the
    /// real destination (a Service VIP's endpoint).
    pub(crate) reply_src: IpAddr,
    pub(crate) reply_sport: Option<u16>,
    /// `IPS_*` status bits.
    pub(crate) status: u32,
    pub(crate) mark: u32,
    pub(crate) zone: u16,
    /// The helper's name, if the entry has one.
    pub(crate) helper: Option<String>,
}

/// `IPS_SRC_NAT`, `IPS_DST_NAT` (nf_conntrack_common.h).
pub(crate) const IPS_SRC_NAT: u32 = 1 << 4;
pub(crate) const IPS_DST_NAT: u32 = 1 << 5;

/// Where the entries come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// libnetfilter_conntrack if it loads, else `/proc/net/nf_conntrack`.
    Auto,
    Library,
    Proc,
}

impl Source {
    pub(crate) fn parse(s: &str) -> Option<Source> {
        match s {
            "auto" => Some(Source::Auto),
            "library" => Some(Source::Library),
            "proc" => Some(Source::Proc),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Source::Auto => "auto",
            Source::Library => "library",
            Source::Proc => "proc",
        }
    }
}

/// This namespace's entries, and the source they came from (`Library` or
/// `Proc`). `Auto` falls back to `/proc` only when the library cannot be
/// loaded; a library that loads and then fails is an error.
pub(crate) fn dump(source: Source) -> io::Result<(Source, Vec<Entry>)> {
    match source {
        Source::Library => library::dump().map(|e| (Source::Library, e)),
        Source::Proc => proc_dump().map(|e| (Source::Proc, e)),
        Source::Auto => match library::load() {
            Ok(lib) => library::dump_with(&lib).map(|e| (Source::Library, e)),
            Err(why) => proc_dump().map(|e| (Source::Proc, e)).map_err(|e| {
                io::Error::new(e.kind(), format!("{why}; and /proc/net/nf_conntrack: {e}"))
            }),
        },
    }
}

fn proc_dump() -> io::Result<Vec<Entry>> {
    let text = std::fs::read_to_string("/proc/net/nf_conntrack")?;
    parse_proc(&text)
}

/// `/proc/net/nf_conntrack`'s lines (ct_seq_show): `ipv4 2 udp 17 29
/// src=A dst=B sport=P dport=Q [UNREPLIED] src=B dst=A sport=Q dport=P
/// [ASSURED] mark=0 zone=3 use=2`, with a protocol state (`ESTABLISHED`),
/// accounting (`packets=`, `bytes=`), per-direction zones (`zone-orig=`,
/// `zone-reply=`), `secctx=` and `delta-time=` where configured.
pub(crate) fn parse_proc(text: &str) -> io::Result<Vec<Entry>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            proc_line(l).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("/proc/net/nf_conntrack: unexpected line {l:?}"),
                )
            })
        })
        .collect()
}

fn proc_line(l: &str) -> Option<Entry> {
    let mut words = l.split_ascii_whitespace();
    let _l3 = words.next()?;
    let l3num: u16 = words.next()?.parse().ok()?;
    if l3num != 2 && l3num != 10 {
        return None;
    }
    let _l4 = words.next()?;
    let proto: u8 = words.next()?.parse().ok()?;
    // Tuples: the first src= .. starts the original, the second the reply.
    let mut tuples: [Tuple; 2] = Default::default();
    let mut dir: Option<usize> = None;
    let (mut mark, mut zone) = (0u32, 0u16);
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            continue;
        };
        match k {
            "src" => {
                dir = Some(dir.map_or(0, |d| d + 1));
                let t = tuples.get_mut(dir?)?;
                t.src = Some(v.parse().ok()?);
            }
            "dst" | "sport" | "dport" => {
                let t = tuples.get_mut(dir?)?;
                match k {
                    "dst" => t.dst = Some(v.parse().ok()?),
                    "sport" => t.sport = Some(v.parse().ok()?),
                    _ => t.dport = Some(v.parse().ok()?),
                }
            }
            "mark" => mark = v.parse().ok()?,
            // A zone on either direction or both.
            "zone" | "zone-orig" | "zone-reply" => zone = zone.max(v.parse().ok()?),
            _ => {}
        }
    }
    let [o, r] = tuples;
    let (src, dst, rsrc, rdst) = (o.src?, o.dst?, r.src?, r.dst?);
    let status = nat_of((src, o.sport, dst, o.dport), (rsrc, r.sport, rdst, r.dport));
    Some(Entry {
        src,
        dst,
        proto,
        sport: o.sport,
        dport: o.dport,
        reply_src: rsrc,
        reply_sport: r.sport,
        status,
        mark,
        zone,
        helper: None,
    })
}

/// A tuple: source, source port, destination, destination port.
type Ends = (IpAddr, Option<u16>, IpAddr, Option<u16>);

/// The NAT bits a reply tuple shows: `IPS_DST_NAT` when the reply does not
/// come from the original's destination, `IPS_SRC_NAT` when it does not go
/// back to the original's source.
fn nat_of(orig: Ends, reply: Ends) -> u32 {
    let (src, sport, dst, dport) = orig;
    let (rsrc, rsport, rdst, rdport) = reply;
    let mut status = 0;
    if rsrc != dst || rsport != dport {
        status |= IPS_DST_NAT;
    }
    if rdst != src || rdport != sport {
        status |= IPS_SRC_NAT;
    }
    status
}

#[derive(Default)]
struct Tuple {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
}

mod library {
    //! libnetfilter_conntrack, loaded with dlopen (glibc's, in libc.so.6).

    use super::*;

    extern "C" {
        fn dlopen(file: *const c_char, flags: c_int) -> *mut c_void;
        fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
        fn dlerror() -> *const c_char;
    }
    const RTLD_NOW: c_int = 2;

    /// libnetfilter_conntrack.h's values (checked against its 1.0.9 header).
    const CONNTRACK: u8 = 1; // NFNL_SUBSYS_CTNETLINK
    const NFCT_T_ALL: c_int = 7;
    const NFCT_CB_CONTINUE: c_int = 1;
    const NFCT_Q_DUMP: c_int = 5;
    const ATTR_ORIG_IPV4_SRC: c_int = 0;
    const ATTR_ORIG_IPV4_DST: c_int = 1;
    const ATTR_REPL_IPV4_SRC: c_int = 2;
    const ATTR_REPL_IPV4_DST: c_int = 3;
    const ATTR_ORIG_IPV6_SRC: c_int = 4;
    const ATTR_ORIG_IPV6_DST: c_int = 5;
    const ATTR_REPL_IPV6_SRC: c_int = 6;
    const ATTR_REPL_IPV6_DST: c_int = 7;
    const ATTR_ORIG_PORT_SRC: c_int = 8;
    const ATTR_ORIG_PORT_DST: c_int = 9;
    const ATTR_REPL_PORT_SRC: c_int = 10;
    const ATTR_REPL_PORT_DST: c_int = 11;
    const ATTR_ORIG_L3PROTO: c_int = 15;
    const ATTR_ORIG_L4PROTO: c_int = 17;
    const ATTR_MARK: c_int = 25;
    const ATTR_STATUS: c_int = 32;
    const ATTR_HELPER_NAME: c_int = 55;
    const ATTR_ZONE: c_int = 61;
    const ATTR_ORIG_ZONE: c_int = 68;
    const ATTR_REPL_ZONE: c_int = 69;
    const AF_INET: u8 = 2;

    type Callback = extern "C" fn(c_int, *mut c_void, *mut c_void) -> c_int;

    type OpenFn = unsafe extern "C" fn(u8, u32) -> *mut c_void;
    type CloseFn = unsafe extern "C" fn(*mut c_void) -> c_int;
    type RegisterFn = unsafe extern "C" fn(*mut c_void, c_int, Callback, *mut c_void) -> c_int;
    type QueryFn = unsafe extern "C" fn(*mut c_void, c_int, *const c_void) -> c_int;
    type IsSetFn = unsafe extern "C" fn(*const c_void, c_int) -> c_int;
    type GetFn = unsafe extern "C" fn(*const c_void, c_int) -> *const c_void;
    type GetU8Fn = unsafe extern "C" fn(*const c_void, c_int) -> u8;
    type GetU16Fn = unsafe extern "C" fn(*const c_void, c_int) -> u16;
    type GetU32Fn = unsafe extern "C" fn(*const c_void, c_int) -> u32;

    /// The library's functions this file calls.
    pub(super) struct Lib {
        open: OpenFn,
        close: CloseFn,
        register: RegisterFn,
        query: QueryFn,
        is_set: IsSetFn,
        get: GetFn,
        get_u8: GetU8Fn,
        get_u16: GetU16Fn,
        get_u32: GetU32Fn,
    }

    fn last_error() -> String {
        // SAFETY: dlerror returns NULL or a NUL-terminated string valid
        // until the next dl* call in this thread; it is copied at once.
        let e = unsafe { dlerror() };
        if e.is_null() {
            "unknown error".into()
        } else {
            // SAFETY: non-NULL, NUL-terminated (above).
            unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
        }
    }

    /// The library's file name. CTSKIP_NFCT_LIBRARY names another, for
    /// tests (one that does not exist shows the fallback to /proc).
    fn library_name() -> CString {
        std::env::var("CTSKIP_NFCT_LIBRARY")
            .ok()
            .and_then(|v| CString::new(v).ok())
            .unwrap_or_else(|| c"libnetfilter_conntrack.so.3".into())
    }

    /// Loads the library (never unloaded: the process is short-lived).
    pub(super) fn load() -> Result<Lib, String> {
        // SAFETY: a NUL-terminated name; the result is checked.
        let h = unsafe { dlopen(library_name().as_ptr(), RTLD_NOW) };
        if h.is_null() {
            return Err(format!("libnetfilter_conntrack: {}", last_error()));
        }
        let sym = |name: &CStr| -> Result<*mut c_void, String> {
            // SAFETY: a handle from dlopen and a NUL-terminated name.
            let p = unsafe { dlsym(h, name.as_ptr()) };
            if p.is_null() {
                Err(format!(
                    "libnetfilter_conntrack: no {}: {}",
                    name.to_string_lossy(),
                    last_error()
                ))
            } else {
                Ok(p)
            }
        };
        // SAFETY (each transmute): the symbol is the library's function of
        // that name, whose C prototype in libnetfilter_conntrack.h is the
        // type given (enums are int; `struct nf_conntrack *` and
        // `struct nfct_handle *` are opaque pointers).
        unsafe {
            Ok(Lib {
                open: std::mem::transmute::<*mut c_void, OpenFn>(sym(c"nfct_open")?),
                close: std::mem::transmute::<*mut c_void, CloseFn>(sym(c"nfct_close")?),
                register: std::mem::transmute::<*mut c_void, RegisterFn>(sym(
                    c"nfct_callback_register",
                )?),
                query: std::mem::transmute::<*mut c_void, QueryFn>(sym(c"nfct_query")?),
                is_set: std::mem::transmute::<*mut c_void, IsSetFn>(sym(c"nfct_attr_is_set")?),
                get: std::mem::transmute::<*mut c_void, GetFn>(sym(c"nfct_get_attr")?),
                get_u8: std::mem::transmute::<*mut c_void, GetU8Fn>(sym(c"nfct_get_attr_u8")?),
                get_u16: std::mem::transmute::<*mut c_void, GetU16Fn>(sym(c"nfct_get_attr_u16")?),
                get_u32: std::mem::transmute::<*mut c_void, GetU32Fn>(sym(c"nfct_get_attr_u32")?),
            })
        }
    }

    pub(super) fn dump() -> io::Result<Vec<Entry>> {
        let lib = load().map_err(io::Error::other)?;
        dump_with(&lib)
    }

    /// What the callback fills: the library, the entries so far.
    struct Sink<'a> {
        lib: &'a Lib,
        entries: Vec<Entry>,
    }

    /// A conntrack object handed to the callback, valid during the call.
    struct Ct<'a> {
        lib: &'a Lib,
        ct: *const c_void,
    }

    impl Ct<'_> {
        fn is_set(&self, a: c_int) -> bool {
            // SAFETY: `ct` is the library's object, valid during the
            // callback (INVARIANT of Ct); `a` is a valid attribute.
            unsafe { (self.lib.is_set)(self.ct, a) > 0 }
        }
        fn u8(&self, a: c_int) -> u8 {
            // SAFETY: as in is_set.
            unsafe { (self.lib.get_u8)(self.ct, a) }
        }
        fn u16(&self, a: c_int) -> u16 {
            // SAFETY: as in is_set.
            unsafe { (self.lib.get_u16)(self.ct, a) }
        }
        fn u32(&self, a: c_int) -> u32 {
            // SAFETY: as in is_set.
            unsafe { (self.lib.get_u32)(self.ct, a) }
        }
        /// An address attribute: 4 or 16 bytes in network order.
        fn addr(&self, v4: c_int, v6: c_int, is_v4: bool) -> Option<IpAddr> {
            let a = if is_v4 { v4 } else { v6 };
            if !self.is_set(a) {
                return None;
            }
            // SAFETY: as in is_set; a set address attribute points at its
            // `struct in_addr` (4 bytes) or `struct in6_addr` (16 bytes).
            let p = unsafe { (self.lib.get)(self.ct, a) }.cast::<u8>();
            if p.is_null() {
                return None;
            }
            if is_v4 {
                let mut b = [0u8; 4];
                // SAFETY: 4 readable bytes (above); `b` is distinct.
                unsafe { std::ptr::copy_nonoverlapping(p, b.as_mut_ptr(), 4) };
                Some(IpAddr::V4(Ipv4Addr::from(b)))
            } else {
                let mut b = [0u8; 16];
                // SAFETY: 16 readable bytes (above); `b` is distinct.
                unsafe { std::ptr::copy_nonoverlapping(p, b.as_mut_ptr(), 16) };
                Some(IpAddr::V6(Ipv6Addr::from(b)))
            }
        }
        fn port(&self, a: c_int) -> Option<u16> {
            // Ports are in network order.
            self.is_set(a).then(|| u16::from_be(self.u16(a)))
        }
        fn helper(&self) -> Option<String> {
            if !self.is_set(ATTR_HELPER_NAME) {
                return None;
            }
            // SAFETY: as in is_set; the helper name is a NUL-terminated
            // string owned by the object.
            let p = unsafe { (self.lib.get)(self.ct, ATTR_HELPER_NAME) }.cast::<c_char>();
            // SAFETY: non-NULL and NUL-terminated (above).
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        }
        fn entry(&self) -> Option<Entry> {
            let v4 = self.u8(ATTR_ORIG_L3PROTO) == AF_INET;
            let proto = self.u8(ATTR_ORIG_L4PROTO);
            let zone = [ATTR_ZONE, ATTR_ORIG_ZONE, ATTR_REPL_ZONE]
                .into_iter()
                .filter(|&a| self.is_set(a))
                .map(|a| self.u16(a))
                .max()
                .unwrap_or(0);
            let orig = (
                self.addr(ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC, v4)?,
                self.port(ATTR_ORIG_PORT_SRC),
                self.addr(ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, v4)?,
                self.port(ATTR_ORIG_PORT_DST),
            );
            let reply = (
                self.addr(ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, v4)?,
                self.port(ATTR_REPL_PORT_SRC),
                self.addr(ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST, v4)?,
                self.port(ATTR_REPL_PORT_DST),
            );
            let bits = if self.is_set(ATTR_STATUS) {
                self.u32(ATTR_STATUS)
            } else {
                0
            };
            Some(Entry {
                src: orig.0,
                dst: orig.2,
                proto,
                sport: orig.1,
                dport: orig.3,
                reply_src: reply.0,
                reply_sport: reply.1,
                status: bits | nat_of(orig, reply),
                mark: if self.is_set(ATTR_MARK) {
                    self.u32(ATTR_MARK)
                } else {
                    0
                },
                zone,
                helper: self.helper(),
            })
        }
    }

    extern "C" fn on_entry(_type: c_int, ct: *mut c_void, data: *mut c_void) -> c_int {
        // SAFETY: `data` is the `Sink` dump_with registered, alive and not
        // otherwise borrowed during nfct_query (which calls this).
        let sink = unsafe { &mut *data.cast::<Sink<'_>>() };
        // INVARIANT: `ct` is valid for this call only; `Ct` does not outlive it.
        let ct = Ct { lib: sink.lib, ct };
        if let Some(e) = ct.entry() {
            sink.entries.push(e);
        }
        NFCT_CB_CONTINUE
    }

    pub(super) fn dump_with(lib: &Lib) -> io::Result<Vec<Entry>> {
        // SAFETY: plain arguments; the result is checked.
        let h = unsafe { (lib.open)(CONNTRACK, 0) };
        if h.is_null() {
            return Err(io::Error::other(format!(
                "libnetfilter_conntrack: nfct_open: {}",
                io::Error::last_os_error()
            )));
        }
        let mut sink = Sink {
            lib,
            entries: Vec::new(),
        };
        // Both families (AF_UNSPEC), as `conntrack -L` without -f.
        let family: u32 = 0;
        // SAFETY: `h` is open; `sink` outlives the query below, the only
        // time the callback runs (the handle is closed right after).
        let r = unsafe { (lib.register)(h, NFCT_T_ALL, on_entry, (&raw mut sink).cast()) };
        let r = if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            // SAFETY: `h` is open, `family` is the u32 NFCT_Q_DUMP reads.
            match unsafe { (lib.query)(h, NFCT_Q_DUMP, (&raw const family).cast()) } {
                r if r < 0 => Err(io::Error::last_os_error()),
                _ => Ok(()),
            }
        };
        // SAFETY: `h` is open and not used after this.
        unsafe { (lib.close)(h) };
        r.map_err(|e| io::Error::new(e.kind(), format!("libnetfilter_conntrack: dump: {e}")))?;
        Ok(sink.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_lines() {
        let text = "\
ipv4     2 udp      17 28 src=10.0.1.1 dst=10.0.1.2 sport=40000 dport=11211 [UNREPLIED] src=10.0.1.2 dst=10.0.1.1 sport=11211 dport=40000 mark=0 zone=0 use=2
ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=10.96.0.10 sport=5000 dport=53 src=10.244.0.5 dst=10.0.0.2 sport=53 dport=5000 [ASSURED] mark=7 use=1
ipv6     10 icmpv6   58 29 src=fd00::1 dst=fd00::2 type=128 code=0 id=7 src=fd00::2 dst=fd00::1 type=129 code=0 id=7 mark=0 zone=3 use=2
ipv4     2 udp      17 20 src=10.0.0.2 dst=1.1.1.1 sport=999 dport=53 packets=1 bytes=60 src=1.1.1.1 dst=192.0.2.9 sport=53 dport=999 packets=1 bytes=60 mark=0 use=2
";
        let e = parse_proc(text).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(
            e[0],
            Entry {
                src: "10.0.1.1".parse().unwrap(),
                dst: "10.0.1.2".parse().unwrap(),
                proto: 17,
                sport: Some(40000),
                dport: Some(11211),
                reply_src: "10.0.1.2".parse().unwrap(),
                reply_sport: Some(11211),
                status: 0,
                mark: 0,
                zone: 0,
                helper: None,
            }
        );
        // DNAT: the reply comes from the endpoint, not from the VIP.
        assert_eq!(e[1].status, IPS_DST_NAT);
        assert_eq!(e[1].reply_src, "10.244.0.5".parse::<IpAddr>().unwrap());
        assert_eq!(e[1].mark, 7);
        // No ports for ICMPv6; its zone.
        assert_eq!(
            (e[2].proto, e[2].sport, e[2].dport, e[2].zone),
            (58, None, None, 3)
        );
        assert_eq!(e[2].status, 0);
        // SNAT (masquerade): the reply goes to another address.
        assert_eq!(e[3].status, IPS_SRC_NAT);
    }

    #[test]
    fn nat_from_the_reply_tuple() {
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        let o = (a("10.0.0.2"), Some(5000), a("10.96.0.10"), Some(53));
        // The inverse: no NAT.
        assert_eq!(nat_of(o, (o.2, o.3, o.0, o.1)), 0);
        // Another source or source port in the reply: DNAT.
        assert_eq!(nat_of(o, (a("10.244.0.5"), o.3, o.0, o.1)), IPS_DST_NAT);
        assert_eq!(nat_of(o, (o.2, Some(5353), o.0, o.1)), IPS_DST_NAT);
        // Back to another address or port: SNAT; both at once.
        assert_eq!(nat_of(o, (o.2, o.3, a("192.0.2.9"), o.1)), IPS_SRC_NAT);
        assert_eq!(nat_of(o, (o.2, o.3, o.0, Some(1))), IPS_SRC_NAT);
        assert_eq!(
            nat_of(o, (a("10.244.0.5"), o.3, a("192.0.2.9"), o.1)),
            IPS_SRC_NAT | IPS_DST_NAT
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse_proc("ipv4 2 udp 17 28 src=10.0.1.1 use=2\n").is_err());
        assert!(parse_proc("bogus\n").is_err());
        assert!(parse_proc("").unwrap().is_empty());
    }
}
