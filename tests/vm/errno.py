#!/usr/bin/env python3
"""Exact errno checks for ctskip's guest tests.

  errno.py write FILE        write stdin's bytes to FILE in one write(2)
  errno.py failwrite FILE    the same, with fault injection on for this task
                             (/proc/self/make-it-fail) during the write only
  errno.py failnetns         unshare(CLONE_NEWNET) with fault injection on
                             for this task during the call only

Fault injection is switched on and off through a descriptor opened
beforehand, so nothing else (path lookups on the 9p root, exec, exit)
runs with it: a failure there would break the guest's root filesystem.
  errno.py insmod KO [ARGS]  load KO with finit_module(2) and ARGS (one string)

Prints OK or the errno's name (EINVAL, ENOENT, ...); exit status 0 either way.
"""
import ctypes
import errno
import os
import sys


def main():
    cmd = sys.argv[1]
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
        elif cmd == "insmod":
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(sys.argv[2], os.O_RDONLY)
            args = (sys.argv[3] if len(sys.argv) > 3 else "").encode()
            SYS_finit_module = 313  # x86_64
            r = libc.syscall(SYS_finit_module, fd, ctypes.c_char_p(args), 0)
            os.close(fd)
            if r != 0:
                raise OSError(ctypes.get_errno(), "finit_module")
        print("OK")
    except OSError as e:
        print(errno.errorcode.get(e.errno, str(e.errno)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
