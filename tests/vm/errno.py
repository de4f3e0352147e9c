#!/usr/bin/env python3
"""Exact errno checks for ctskip's guest tests.

  errno.py write FILE        write stdin's bytes to FILE in one write(2)
  errno.py read FILE         open FILE and read it to the end
  errno.py failwrite FILE    the same, with fault injection on for this task
                             (/proc/self/make-it-fail) during the write only
  errno.py failnetns         unshare(CLONE_NEWNET) with fault injection on
                             for this task during the call only

Fault injection is switched on and off through a descriptor opened
beforehand, so nothing else (path lookups on the 9p root, exec, exit)
runs with it: a failure there would break the guest's root filesystem.
  errno.py nth N netns       unshare(CLONE_NEWNET) with the Nth allocation
                             that passes the fault-injection filters failing
                             (/proc/thread-self/fail-nth); prints the result
                             and "consumed" if the Nth allocation was reached
  errno.py nth N write FILE  the same for a write of stdin's bytes to FILE
  errno.py nth N insmod KO [ARGS]  the same for loading KO (finit_module(2))
  errno.py insmod KO [ARGS]  load KO with finit_module(2) and ARGS (one string)
  errno.py pwrite FILE OFF   write stdin's bytes to FILE at offset OFF (pwrite(2))
  errno.py stream FILE       write stdin's bytes to FILE in one open, 64 KiB
                             per write(2) (as cat does)
  errno.py stagegap FILE     one writer stages a line, then writes at a gap;
                             prints the gap write's result
  errno.py stagerace FILE    two writers on FILE (a stage): the first starts,
                             the second tries to continue; prints the
                             second's result, then the first's next write's
  errno.py stagecommit STAGE COMMIT [READY GO]
                             stage stdin's bytes (one open, as cat does), close,
                             then write 1 to COMMIT from this same process (the
                             writer commits itself); prints both results
                             ("OK OK"), or the stage's errno and "-". With two
                             fifos: after opening STAGE, write a byte to READY
                             and wait for a byte from GO before the first write
                             (a start barrier for racing writers)
  errno.py stagehold STAGE COMMIT OUTFIFO INFIFO
                             the same in three steps: stage the first page of
                             stdin and say "piece" on OUTFIFO; after a line on
                             INFIFO stage the rest, close and say "closed";
                             after another line commit; prints the stage's and
                             the commit's results (a failed step says "failed"
                             on OUTFIFO for each step left and prints "-" for
                             the commit)
  errno.py restage STAGE COMMIT FILE1 FILE2
                             stage FILE1, close, stage FILE2 from a new open
                             (offset 0: the same process starts over), then
                             commit; prints the three results
  errno.py handwrite FILE    open FILE for writing with CAP_NET_ADMIN out of
                             this process's effective set, raise it again,
                             then write stdin's bytes (a descriptor opened by
                             an unprivileged opener, used by a privileged one)
  errno.py handread FILE     the same for a read of FILE to the end
  errno.py repeat N FILE     write stdin's bytes to FILE N times, each through
                             its own open (one process, as fast as it can);
                             prints each distinct result with its count
                             ("EPERM 100")
  errno.py errname           reads an error message (e.g. bash's "write error:
                             Device or resource busy") on stdin and prints the
                             name of the errno whose strerror text it contains
                             (UNKNOWN if none)

Prints OK or the errno's name (EINVAL, ENOENT, ...); exit status 0 either way.
"""
import ctypes
import errno
import os
import sys

from kmod import finit_module


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def stream(fd, data):
    """Writes all of data through fd, continuing after short writes (sysfs
    takes at most a page per write(2)), as cat does."""
    at = 0
    while at < len(data):
        at += os.write(fd, data[at:at + 65536])


def stage_file(path, data, barrier=None):
    """Stages data through one open of path; OK or the errno's name.
    barrier: (ready, go) fifo paths to meet at between open and writes."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as e:
        fd, err = None, ename(e)
    if barrier:
        # (also after a failed open: the other side counts on this byte)
        ready = os.open(barrier[0], os.O_WRONLY)
        go = os.open(barrier[1], os.O_RDONLY)
        os.write(ready, b"r")
        os.read(go, 1)
        os.close(ready)
        os.close(go)
    if fd is None:
        return err
    try:
        stream(fd, data)
        return "OK"
    except OSError as e:
        return ename(e)
    finally:
        os.close(fd)


CAP_NET_ADMIN = 12


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def set_effective(cap, on):
    """Raises or lowers one capability in this process's effective set
    (it stays permitted, so it can be raised again)."""
    libc = ctypes.CDLL(None, use_errno=True)
    hdr = CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (CapData * 2)()
    if libc.capget(ctypes.byref(hdr), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    bit = 1 << (cap % 32)
    if on:
        data[cap // 32].effective |= bit
    else:
        data[cap // 32].effective &= ~bit
    if libc.capset(ctypes.byref(hdr), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def open_unprivileged(path, flags):
    """Opens path without CAP_NET_ADMIN in effect, then raises it again."""
    set_effective(CAP_NET_ADMIN, False)
    try:
        return os.open(path, flags)
    finally:
        set_effective(CAP_NET_ADMIN, True)


def write_once(path, data):
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        return "OK"
    except OSError as e:
        return ename(e)


def main():
    cmd = sys.argv[1]
    if cmd == "errname":
        text = sys.stdin.read()
        found = [(len(os.strerror(c)), n) for c, n in errno.errorcode.items() if os.strerror(c) in text]
        print(max(found)[1] if found else "UNKNOWN")
        return 0
    if cmd == "repeat":
        data = sys.stdin.buffer.read()
        counts = {}
        for _ in range(int(sys.argv[2])):
            r = write_once(sys.argv[3], data)
            counts[r] = counts.get(r, 0) + 1
        print(" ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return 0
    if cmd == "stagecommit":
        r = stage_file(sys.argv[2], sys.stdin.buffer.read(), sys.argv[4:6] if len(sys.argv) > 5 else None)
        print(r, write_once(sys.argv[3], b"1") if r == "OK" else "-")
        return 0
    if cmd == "restage":
        a = stage_file(sys.argv[2], open(sys.argv[4], "rb").read())
        b = stage_file(sys.argv[2], open(sys.argv[5], "rb").read())
        print(a, b, write_once(sys.argv[3], b"1"))
        return 0
    if cmd == "stagehold":
        data = sys.stdin.buffer.read()
        say = open(sys.argv[4], "w", buffering=1)
        hear = open(sys.argv[5])
        res, steps = "OK", ["piece", "closed"]
        try:
            fd = os.open(sys.argv[2], os.O_WRONLY)
        except OSError as e:
            fd, res = None, ename(e)
        try:
            if fd is not None:
                # One write(2): the module gets the first page.
                at = os.write(fd, data[:4096])
                say.write(steps.pop(0) + "\n")
                hear.readline()
                while at < len(data):
                    at += os.write(fd, data[at:at + 65536])
        except OSError as e:
            res = ename(e)
        finally:
            if fd is not None:
                os.close(fd)
        if res != "OK":
            for _ in steps:
                say.write("failed\n")
            print(res, "-")
            return 0
        say.write(steps.pop(0) + "\n")
        hear.readline()
        print(res, write_once(sys.argv[3], b"1"))
        return 0
    try:
        if cmd in ("write", "failwrite"):
            data = sys.stdin.buffer.read()
            fd = os.open(sys.argv[2], os.O_WRONLY)
            fail = os.open("/proc/self/make-it-fail", os.O_WRONLY) if cmd == "failwrite" else None
            try:
                if fail is not None:
                    os.write(fail, b"1")
                try:
                    n = os.write(fd, data)
                finally:
                    if fail is not None:
                        os.write(fail, b"0")
                if n != len(data):
                    print(f"SHORT {n}")
                    return 0
            finally:
                os.close(fd)
                if fail is not None:
                    os.close(fail)
        elif cmd == "failnetns":
            libc = ctypes.CDLL(None, use_errno=True)
            fail = os.open("/proc/self/make-it-fail", os.O_WRONLY)
            os.write(fail, b"1")
            r = libc.unshare(0x40000000)  # CLONE_NEWNET
            err = ctypes.get_errno()
            os.write(fail, b"0")
            os.close(fail)
            if r != 0:
                raise OSError(err, "unshare")
            # This process's new netns must work: its counters file is there.
            with open("/proc/self/net/ctskip") as f:
                f.read()
        elif cmd == "pwrite":
            data = sys.stdin.buffer.read()
            fd = os.open(sys.argv[2], os.O_WRONLY)
            try:
                os.pwrite(fd, data, int(sys.argv[3]))
            finally:
                os.close(fd)
        elif cmd == "stream":
            data = sys.stdin.buffer.read()
            fd = os.open(sys.argv[2], os.O_WRONLY)
            try:
                # sysfs takes at most a page per write(2): loop on short
                # writes, as cat does.
                at = 0
                while at < len(data):
                    at += os.write(fd, data[at:at + 65536])
            finally:
                os.close(fd)
        elif cmd == "nth":
            n, what = int(sys.argv[2]), sys.argv[3]
            data = sys.stdin.buffer.read() if what == "write" else b""
            fd = None
            if what == "write":
                fd = os.open(sys.argv[4], os.O_WRONLY)
            elif what == "insmod":
                fd = os.open(sys.argv[4], os.O_RDONLY)  # before fail-nth is armed
                args = (sys.argv[5] if len(sys.argv) > 5 else "").encode()
            libc = ctypes.CDLL(None, use_errno=True)
            nth = os.open("/proc/thread-self/fail-nth", os.O_RDWR)
            os.write(nth, str(n).encode())
            if what == "netns":
                r = libc.unshare(0x40000000)  # CLONE_NEWNET
                err = ctypes.get_errno() if r != 0 else 0
            elif what == "insmod":
                err = finit_module(fd, args)
            else:
                r = libc.write(fd, data, len(data))
                err = ctypes.get_errno() if r < 0 else 0
            left = int(os.pread(nth, 32, 0).decode().strip() or "0")
            os.write(nth, b"0")
            os.close(nth)
            if fd is not None:
                os.close(fd)
            name = errno.errorcode.get(err, str(err)) if err else "OK"
            print(name, "consumed" if left == 0 else "unreached")
            return 0
        elif cmd in ("handwrite", "handread"):
            write = cmd == "handwrite"
            data = sys.stdin.buffer.read() if write else b""
            fd = open_unprivileged(sys.argv[2], os.O_WRONLY if write else os.O_RDONLY)
            try:
                if write:
                    os.write(fd, data)
                else:
                    while os.read(fd, 65536):
                        pass
            finally:
                os.close(fd)
        elif cmd == "read":
            fd = os.open(sys.argv[2], os.O_RDONLY)
            try:
                while os.read(fd, 65536):
                    pass
            finally:
                os.close(fd)
        elif cmd == "stagegap":
            fd = os.open(sys.argv[2], os.O_WRONLY)
            try:
                os.write(fd, b"udp dport 9\n")
                os.pwrite(fd, b"x", 5)
            finally:
                os.close(fd)
        elif cmd == "stagerace":
            a = os.open(sys.argv[2], os.O_WRONLY)
            b = os.open(sys.argv[2], os.O_WRONLY)
            first = b"udp dport 1\n"
            os.write(a, first)
            res = []
            for fd, off in ((b, len(first)), (a, len(first))):
                try:
                    os.pwrite(fd, b"udp dport 2\n", off)
                    res.append("OK")
                except OSError as e:
                    res.append(errno.errorcode.get(e.errno, str(e.errno)))
            os.close(a)
            os.close(b)
            print(" ".join(res))
            return 0
        elif cmd == "insmod":
            err = finit_module(sys.argv[2], (sys.argv[3] if len(sys.argv) > 3 else "").encode())
            if err:
                raise OSError(err, "finit_module")
        print("OK")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
