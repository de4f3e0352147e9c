#!/bin/bash
# Memory follows the distinct rules, not the text: a 16 MiB stage of one
# repeated rule, and one of five million distinct-looking duplicates,
# stage and commit without the guest's available memory falling by more than
# the documented ceiling, 64 MiB (the staged text itself is 16 MiB). Sampled here; the exact peak
# of the parse is measured on the host (tests/host/tests/parse_memory.rs).
. "$(dirname "$0")/lib.sh"
plan 7
load || { not_ok "insmod"; done_testing; exit; }
CEIL_KIB=$((64 * 1024))
T=$(mktemp -d /tmp/ctskip-mem.XXXXXX)
python3 - "$T" <<'PY'
import sys
d = sys.argv[1]
size = 16 << 20
one = b"ip\n" * (size // 3)
open(f"{d}/one", "wb").write(one)
# Five million pieces that all spell the rule `ip` differently.
forms = [b"ip;", b"ip\n", b"ip;", b" ip;", b"ip;"]
out, n = bytearray(), 0
while len(out) + 20 < size:
    out += forms[n % len(forms)]
    n += 1
open(f"{d}/dups", "wb").write(out)
print(f"# {len(one) // 3} lines of 'ip'; {n} distinct-looking duplicates of it")
assert n >= 5_000_000, n
PY
# commit_measured FILE: stages FILE with cat and commits it with echo, from
# one shell (the stage's owner commits it), sampling memory throughout;
# prints "RESULT drop KIB". cat streams the file (on tmpfs already), so the
# fall in available memory is what the kernel holds, not the tools.
commit_measured() {
	python3 "$TESTS_DIR/memsample.py" bash -c \
		"cat '$1' > $SYS/stage && echo 1 > $SYS/commit && echo OK || echo FAILED" | tr '\n' ' '
}
read -r res _ drop <<< "$(commit_measured "$T/one")"
check_eq "16 MiB of one repeated rule: committed" OK "$res"
check_eq "  one rule" ip "$(cat $SYS/rules)"
check "  available memory fell by less than $CEIL_KIB KiB ($drop KiB)" test "$drop" -lt $CEIL_KIB
read -r res _ drop <<< "$(commit_measured "$T/dups")"
check_eq "16 MiB of distinct-looking duplicates: committed" OK "$res"
check_eq "  one rule" ip "$(cat $SYS/rules)"
check "  available memory fell by less than $CEIL_KIB KiB ($drop KiB)" test "$drop" -lt $CEIL_KIB
# Positive control for the sampler: it sees a 128 MiB allocation.
read -r _ drop <<< "$(python3 "$TESTS_DIR/memsample.py" python3 -c 'import time; b = bytearray(128 << 20); b[::4096] = b"x" * len(b[::4096]); time.sleep(0.5)')"
check "the sampler sees a 128 MiB allocation ($drop KiB)" test "$drop" -gt $((100 * 1024))
rm -rf "$T"
done_testing
