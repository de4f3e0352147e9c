#!/usr/bin/env python3
"""Load a rule file of any size into ctskip: a blank `rules` write, then
`add` writes of less than a page each (the interface's limit).

  load-rules.py FILE
"""
import os
import sys

SYS = "/sys/kernel/ctskip"


def write(name, data):
    fd = os.open(f"{SYS}/{name}", os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


write("rules", b"\n")
batch = b""
for line in open(sys.argv[1], "rb"):
    if len(batch) + len(line) >= 4000:
        write("add", batch)
        batch = b""
    batch += line
if batch.strip():
    write("add", batch)
