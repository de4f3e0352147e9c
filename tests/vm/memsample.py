#!/usr/bin/env python3
"""Samples MemAvailable while a command runs; prints the command's output,
then "drop KIB" (the largest fall below the level before it started).

  memsample.py CMD [ARGS...]
"""
import subprocess
import sys
import threading


def available():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    raise SystemExit("no MemAvailable")


def main():
    base = available()
    low = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            low[0] = min(low[0], available())

    t = threading.Thread(target=sample)
    t.start()
    r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    done.set()
    t.join()
    sys.stdout.write(r.stdout)
    print(f"drop {base - low[0]}")


if __name__ == "__main__":
    main()
