#!/usr/bin/env python3
"""Bad input through ctskip's real interfaces, checked against the host model
(tests/host ctskip-model: the same core code). Each write must be accepted or
refused exactly as the model says, with its errno, and after every write the
rules must read back exactly as the model's set.

  badinput.py MODEL KO WRITES INSMODS SEED

Prints KTAP lines.
"""
import ctypes
import errno
import os
import random
import subprocess
import sys
import time

from kmod import finit_module

SYS = "/sys/kernel/ctskip"
MODEL, KO, WRITES, INSMODS, SEED = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rnd = random.Random(SEED)
model = subprocess.Popen([MODEL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
n = 0
failed = 0


def report(ok, what):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {what}", flush=True)


def ask(file, data):
    model.stdin.write(f"{file} {data.hex()}\n")
    verdict = model.stdout.readline().strip()
    text = bytes.fromhex(model.stdout.readline().strip())
    return verdict, text


def write(file, data):
    try:
        fd = os.open(f"{SYS}/{file}", os.O_WRONLY)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        return "OK"
    except OSError as e:
        return errno.errorcode[e.errno]


def read_rules():
    with open(f"{SYS}/rules", "rb") as f:
        return f.read()


KEYWORDS = ["ip", "ip6", "tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "gre", "esp", "ah",
            "proto", "saddr", "daddr", "sport", "dport", "iif", "oif", "oneway"]
VALUES = ["0", "6", "17", "53", "255", "256", "65535", "65536", "99999999999999999999", "-1", "1-2", "2-1",
          "0-65535", "80-443", "10.0.0.1", "10.0.0.0/8", "10.0.0.0/33", "300.1.1.1", "::1", "2001:db8::/32",
          "2001:db8::/129", "fe80::1%eth0", "eth0", "veth1", "0123456789abcdef", "a/b", "x:y", ".", "..",
          "caf\u00e9", "\u00ff", "UDP", "Dport", "#", ";", ""]


def valid_rule():
    fields = []
    if rnd.random() < 0.3:
        fields.append(rnd.choice(["ip", "ip6"]))
    proto = rnd.choice(["tcp", "udp", "sctp", "dccp", "udplite", "gre", "esp", None, "proto 99"])
    if proto:
        fields.append(proto)
    if rnd.random() < 0.3:
        fam = "ip6" if "ip6" in fields else "ip"
        a = rnd.choice(["2001:db8::/32", "2001:db8:1::1", "::/0"] if fam == "ip6" else ["10.0.0.0/8", "10.1.2.3", "192.168.0.0/16"])
        fields.append(f"{rnd.choice(['saddr', 'daddr'])} {a}")
    if proto in ("tcp", "udp", "sctp", "dccp", "udplite") and rnd.random() < 0.8:
        lo = rnd.randrange(0, 1000)
        fields.append(f"{rnd.choice(['sport', 'dport'])} {lo}" + (f"-{lo + rnd.randrange(0, 100)}" if rnd.random() < 0.4 else ""))
    if rnd.random() < 0.1:
        fields.append(f"{rnd.choice(['iif', 'oif'])} {rnd.choice(['eth0', 'veth1'])}")
    if rnd.random() < 0.1:
        fields.append("oneway")
    if not fields:
        fields.append("gre")
    rnd.shuffle(fields)
    return " ".join(fields)


def garbage_rule():
    kind = rnd.randrange(8)
    if kind == 0:  # random words
        return " ".join(rnd.choice(KEYWORDS + VALUES) for _ in range(rnd.randrange(1, 8)))
    if kind == 1:  # a keyword repeated or misplaced
        r = valid_rule().split()
        i = rnd.randrange(len(r))
        r.insert(rnd.randrange(len(r) + 1), r[i])
        return " ".join(r)
    if kind == 2:  # out-of-range value
        return f"udp dport {rnd.choice(['65536', '70000', '1-0', '5-', '-5', '1e3'])}"
    if kind == 3:
        return f"saddr 10.0.0.0/{rnd.choice(['33', '-1', 'x', ''])}"
    if kind == 4:  # overlong word
        return "udp dport " + "9" * rnd.randrange(10, 3000)
    if kind == 5:
        return "iif " + "e" * rnd.randrange(16, 40)
    if kind == 6:  # non-ASCII / control bytes
        return valid_rule() + rnd.choice(["\u00e9", "\x00", "\x01", "\x7f", "\u2028"])
    return rnd.choice(["oneway", "", "   ", "#", "dport 53", "icmp sport 1", "ip6 saddr 10.0.0.1"])


def text(max_rules=6):
    rules = [valid_rule() if rnd.random() < 0.6 else garbage_rule() for _ in range(rnd.randrange(0, max_rules))]
    sep = rnd.choice(["\n", ";", " ; ", "\n# comment\n"])
    return (sep.join(rules) + rnd.choice(["", "\n"])).encode("utf-8", "surrogatepass")


def payload():
    k = rnd.randrange(20)
    if k == 0:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 64)))
    if k == 1:
        return b"\x00" * rnd.randrange(1, 10)
    if k == 2:
        return (b"udp dport 1\n" * 400)[: rnd.choice([4095, 4096, 4097, 8192])]  # around a page
    if k == 3:
        return b"x" * rnd.choice([4000, 4095, 4096, 5000])
    return text()


mismatches = 0


def unfinished_end_allows(file, data, before, want, got, got_text):
    """The README on a text whose last line is unfinished (no newline or ';'
    after it): an end ctskip can tell no bytes could make a rule is refused
    at once (EINVAL), before the complete lines are taken; otherwise the
    complete lines are taken first, in order, so their errno (ENOENT for an
    absent rule in del, say) is the writer's; then the end applies if it is
    a whole rule, and otherwise waits for the close, where a non-rule end
    undoes the whole text with a log line (the writer got OK). The model
    (ctskip-model) answers EINVAL for every end the reference shows no bytes
    could make a rule; the README leaves which of those ctskip "can tell"
    open, and the module holds some until the close (a word cut short is
    checked alone: see tests/host's cut_word_checked_alone). So where the
    model says EINVAL, accept what the complete lines alone give (asked of
    the model from the state before the write), or EINVAL. Either way a
    refused text leaves the set from before."""
    cut = max(data.rfind(b"\n"), data.rfind(b";"))
    end = data[cut + 1:]
    if not end.split(b"#")[0].strip():
        return False
    ask("reset", b"")
    if before:
        ask("rules", before)
    want_c, _ = ask(file, data[:cut + 1])
    ask("reset", b"")  # the caller resynchronises on a mismatch; do it here too
    if got_text:
        ask("rules", got_text)
    if got_text != before:
        return False
    if want_c != "OK":
        # An end refused at once is refused before the complete lines.
        return got in (want_c, "EINVAL")
    return got in ("OK", "EINVAL")
verdicts = {}
for i in range(WRITES):
    r = rnd.random()
    if r < 0.05:
        file, data = "enabled", rnd.choice([b"0", b"1", b"1\n", b"0\n", b"2", b"yes", b"", b" 1", b"1\n\n", b"\x00"])
    else:
        file = "rules" if r < 0.35 else ("add" if r < 0.75 else "del")
        data = payload()
        if file == "del" and rnd.random() < 0.5:
            # Delete something that is there (or partly there).
            have = read_rules().decode().splitlines()
            if have:
                pick = rnd.sample(have, min(len(have), rnd.randrange(1, 4)))
                if rnd.random() < 0.3:
                    pick.append(valid_rule())
                data = "\n".join(pick).encode()
    before = read_rules()
    want, want_text = ask(file, data)
    got = write(file, data)
    # ctskip sees the file closed within about 20 ms (the end of the text
    # is final then): read the set after that.
    time.sleep(0.1)
    verdicts[got] = verdicts.get(got, 0) + 1
    got_text = read_rules()
    if (got != want or got_text != want_text) and unfinished_end_allows(file, data, before, want, got, got_text):
        pass
    elif got != want or got_text != want_text:
        mismatches += 1
        if mismatches <= 5:
            print(f"# write {i} to {file}: {data[:120]!r}: got {got}, model {want}", flush=True)
            if got_text != want_text:
                print(f"#   rules now {got_text[:200]!r}, model {want_text[:200]!r}", flush=True)
        ask("reset", b"")  # resynchronise: model from the module's state
        if got_text:
            ask("rules", got_text)
print("# verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())), flush=True)
report(mismatches == 0, f"{WRITES} generated writes to rules/add/del/enabled match the model ({mismatches} mismatches)")
write("enabled", b"1")

# Module parameters at insmod.
libc = ctypes.CDLL(None, use_errno=True)
imm = 0
for i in range(INSMODS):
    rules = text(4).decode("utf-8", "replace").replace('"', "").replace("\x00", "")
    if rnd.random() < 0.2:
        rules = ";".join(valid_rule() for _ in range(rnd.randrange(1, 300)))
    subprocess.run(["rmmod", "ctskip"], stderr=subprocess.DEVNULL)
    want, want_text = ask("insmod", rules.encode())
    err = finit_module(KO, f'rules="{rules}"'.encode())
    rc = -1 if err else 0
    got = "OK" if rc == 0 else errno.errorcode.get(err, str(err))
    got_text = read_rules() if rc == 0 else b""
    if want != "OK":
        want_text = b""
    if got != want or got_text != want_text or (rc != 0 and os.path.exists(SYS)):
        imm += 1
        if imm <= 5:
            print(f"# insmod rules={rules[:120]!r}: got {got}, model {want}", flush=True)
report(imm == 0, f"{INSMODS} generated insmod rules= values match the model ({imm} mismatches)")
subprocess.run(["rmmod", "ctskip"], stderr=subprocess.DEVNULL)
print(f"1..{n}")
sys.exit(1 if failed else 0)
