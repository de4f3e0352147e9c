#!/usr/bin/env python3
"""Snapshot reads of ctskip's rules or hits, one byte per read(2), while the
active set is replaced. A read at offset 0 takes a snapshot for that open
file; the later one-byte reads must continue that snapshot, so each open file
sees one whole set.

  snapread.py handshake FILE A B N CMD
      The active set is A's text when called. N times: open FILE, read one
      byte (the snapshot is taken), read on one byte at a time up to byte K
      (K varies: 1, 2000, 4096, 4097, 8191), run the shell command CMD with
      the other set's file as $1 and wait for it (it must replace the active
      set with that file's, e.g. `cat "$1" > stage && echo 1 > commit`), then
      read the rest one byte per read. The snapshot must be exactly the set
      that was active at its first read; a fresh read after it must be the
      other set (the replace happened while the file was being read).
      Prints "snapshots N A a B b wrong w replaced r failed f" (failed: CMD
      did not exit 0).
  snapread.py free FILE A B MIN MAX [--prefix]
      Snapshots, one byte per read, while another process keeps replacing
      the set with A's and B's: at least MIN, and on until both sets were
      seen whole (at most MAX). Each must be exactly A or B; with --prefix it
      may also be a beginning of either (its first lines, the last of them
      possibly cut short): a replace written to `rules` in pieces passes
      through such sets. Prints "snapshots N A a B b partial p wrong w".

A and B are files of rules in canonical form, one per line. FILE is the path
of rules or hits; for hits the RULE column (of "PACKETS BYTES RULE") is
compared. The first wrong snapshot is shown on stderr.
"""
import os
import subprocess
import sys


def read_bytewise(path, at=None, action=None):
    """The whole content of path, one byte per read(2); action() runs once
    after `at` bytes were read. Returns (bytes, whether action ran)."""
    fd = os.open(path, os.O_RDONLY)
    out = bytearray()
    try:
        while True:
            if action is not None and len(out) == at:
                action()
                action = None
            b = os.read(fd, 1)
            if not b:
                break
            if len(b) != 1:
                sys.exit(f"snapread: a one-byte read returned {len(b)} bytes")
            out += b
    finally:
        os.close(fd)
    return bytes(out), action is None


def rule_lines(path, data):
    """The rule lines of a snapshot, or None if it is not well formed (a
    last line without its newline, a hits line without two counts)."""
    if data and not data.endswith(b"\n"):
        return None
    lines = data.decode(errors="replace").splitlines()
    if os.path.basename(path) != "hits":
        return lines
    rules = []
    for line in lines:
        f = line.split(None, 2)
        if len(f) != 3 or not f[0].isdigit() or not f[1].isdigit():
            return None
        rules.append(f[2])
    return rules


def is_prefix(got, want):
    """got is want's first lines, the last of them possibly cut short."""
    k = len(got)
    if k == 0:
        return True
    if k > len(want) or got[:k - 1] != want[:k - 1]:
        return False
    return want[k - 1].startswith(got[k - 1])


def show(what, data):
    text = data.decode(errors="replace")
    print(f"snapread: {what}: {len(text)} bytes, {text.count(chr(10))} lines; "
          f"head {text[:120]!r} ... tail {text[-120:]!r}", file=sys.stderr)


def main():
    mode, path, fa, fb = sys.argv[1:5]
    sets = [open(fa).read().splitlines(), open(fb).read().splitlines()]
    files = [fa, fb]
    seen, wrong = [0, 0], 0
    if mode == "handshake":
        n, cmd = int(sys.argv[5]), sys.argv[6]
        positions = [1, 2000, 4096, 4097, 8191]
        cur, replaced, failed = 0, 0, 0
        for i in range(n):
            other = 1 - cur
            codes = []

            def replace():
                codes.append(subprocess.run(["sh", "-c", cmd, "sh", files[other]]).returncode)

            data, ran = read_bytewise(path, positions[i % len(positions)], replace)
            if not ran:
                print(f"snapread: snapshot {i} ended before byte {positions[i % len(positions)]}",
                      file=sys.stderr)
            failed += 0 if codes == [0] else 1
            if rule_lines(path, data) == sets[cur]:
                seen[cur] += 1
            else:
                wrong += 1
                if wrong == 1:
                    show(f"snapshot {i} is not set {'AB'[cur]}", data)
            with open(path, "rb") as f:
                if rule_lines(path, f.read()) == sets[other]:
                    replaced += 1
            cur = other
        print(f"snapshots {n} A {seen[0]} B {seen[1]} wrong {wrong} replaced {replaced} failed {failed}")
    elif mode == "free":
        lo, hi = int(sys.argv[5]), int(sys.argv[6])
        prefix = "--prefix" in sys.argv[7:]
        n = partial = 0
        while n < lo or (n < hi and not (seen[0] and seen[1])):
            data, _ = read_bytewise(path)
            got = rule_lines(path, data)
            n += 1
            if got == sets[0]:
                seen[0] += 1
            elif got == sets[1]:
                seen[1] += 1
            elif prefix and got is not None and (is_prefix(got, sets[0]) or is_prefix(got, sets[1])):
                partial += 1
            else:
                wrong += 1
                if wrong == 1:
                    show(f"snapshot {n - 1} is neither set", data)
        print(f"snapshots {n} A {seen[0]} B {seen[1]} partial {partial} wrong {wrong}")
    else:
        sys.exit(f"snapread: unknown mode {mode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
