// SPDX-License-Identifier: GPL-2.0

//! The module's own reason for a refused write: ctskip logs one line per
//! error, so the tool reads the kernel log from where it stood before the
//! write (/dev/kmsg, root only) and shows that line instead of a bare errno.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;

const O_NONBLOCK: i32 = 0o4000;

/// The kernel log from the moment of [`Tail::open`] on.
pub struct Tail(File);

impl Tail {
    /// Opens the log at its end, or `None` (not root, no /dev/kmsg).
    pub fn open() -> Option<Tail> {
        let mut f = OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open("/dev/kmsg")
            .ok()?;
        f.seek(SeekFrom::End(0)).ok()?;
        Some(Tail(f))
    }

    /// The text of the first `ctskip: ` record logged since `open`, without
    /// the prefix.
    pub fn ctskip_line(&mut self) -> Option<String> {
        let mut buf = vec![0u8; 8192];
        // One record per read; stops at EAGAIN (nothing more logged).
        while let Ok(n) = self.0.read(&mut buf) {
            if n == 0 {
                break;
            }
            let rec = String::from_utf8_lossy(&buf[..n]);
            let msg = rec.split_once(';').map(|(_, m)| m).unwrap_or("");
            let msg = msg.lines().next().unwrap_or("");
            if let Some(m) = msg.strip_prefix("ctskip: ") {
                return Some(m.to_string());
            }
        }
        None
    }
}
