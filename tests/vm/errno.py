#!/usr/bin/env python3
"""Exact errno checks for ctskip's guest tests.

  errno.py write FILE        write stdin's bytes to FILE in one write(2)
  errno.py failwrite FILE    the same, with fault injection on for this task
                             (/proc/self/make-it-fail)
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
            if cmd == "failwrite":
                with open("/proc/self/make-it-fail", "w") as f:
                    f.write("1")
            fd = os.open(sys.argv[2], os.O_WRONLY)
            try:
                n = os.write(fd, data)
                if n != len(data):
                    print(f"SHORT {n}")
                    return 0
            finally:
                os.close(fd)
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
