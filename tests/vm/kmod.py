"""Loading a module the way insmod and modprobe do: finit_module(2) with the
parameter string exactly as given (one string, quotes and blanks kept).
Shared by errno.py and badinput.py."""
import ctypes
import os

SYS_finit_module = 313  # x86_64
_libc = ctypes.CDLL(None, use_errno=True)


def finit_module(module, args=b""):
    """Loads MODULE (a path, or an open file descriptor, which stays open)
    with ARGS (bytes); returns 0 or the errno."""
    fd = module if isinstance(module, int) else os.open(module, os.O_RDONLY)
    try:
        r = _libc.syscall(SYS_finit_module, fd, ctypes.c_char_p(args), 0)
        return ctypes.get_errno() if r != 0 else 0
    finally:
        if fd is not module:
            os.close(fd)
