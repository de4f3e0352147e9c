#!/usr/bin/env python3
"""The rule-replacing half of the stress test, in one process: N replaces of
the whole set; every 10th installs a large set (a replace with its first
page, then `add` writes of less than a page each), the others a small one.
The large set starts with the small set's rules, so those stay active
throughout.

  replace-loop.py N SMALLFILE LARGEFILE    prints "replaces N errors E large L"
"""
import os
import sys

SYS = "/sys/kernel/ctskip"
n = int(sys.argv[1])
small = open(sys.argv[2], "rb").read()
large = open(sys.argv[3], "rb").read().splitlines(keepends=True)

batches, cur = [], b""
for line in large:
    if len(cur) + len(line) >= 4000:
        batches.append(cur)
        cur = b""
    cur += line
batches.append(cur)


def write(name, data):
    fd = os.open(f"{SYS}/{name}", os.O_WRONLY)
    try:
        os.write(fd, data)
        return True
    except OSError as e:
        print(f"# {name}: {e}", flush=True)
        return False
    finally:
        os.close(fd)


errors = done_large = 0
for i in range(1, n + 1):
    if i % 10 == 0:
        ok = write("rules", batches[0]) and all(write("add", b) for b in batches[1:])
        done_large += ok
        errors += not ok
    else:
        errors += not write("rules", small)
print(f"replaces {n} errors {errors} large {done_large}")
