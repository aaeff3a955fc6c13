"""A unit's main process that sends COUNT seeded random datagrams to
$NOTIFY_SOCKET (garbage, oversized, well-formed keys with bad values, with and
without passed descriptors), then waits for the manager to have read them all
(BARRIER=1 with a pipe, as sd_notify_barrier does), writes its tally to
DONE_FILE and sleeps. Keys that would legitimately end the unit (STOPPING=1,
WATCHDOG=trigger, a MAINPID of a live process, short watchdog timeouts) get
only unparsable values: the point is the parser and the fd handling, not the
unit's life.

Usage: notify_fuzz.py SEED COUNT DONE_FILE
"""

import array
import json
import os
import random
import select
import socket
import sys
import time

KEYS = [
    "READY",
    "RELOADING",
    "STATUS",
    "ERRNO",
    "BUSERROR",
    "FDSTORE",
    "FDSTOREREMOVE",
    "FDNAME",
    "FDPOLL",
    "MONOTONIC_USEC",
    "NOTIFYACCESS",
    "X_RANDOM",
    "",
    "=",
    "READY\x00",
    "\u00e9t\u00e9",
]
UNPARSABLE_ONLY = ["STOPPING", "WATCHDOG", "WATCHDOG_USEC", "EXTEND_TIMEOUT_USEC", "MAINPID"]


def value(rng: random.Random) -> str:
    choice = rng.randrange(7)
    if choice == 0:
        return str(rng.choice([0, 1, -1, 2**63, 2**64 + 5]))
    if choice == 1:
        return "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(rng.randrange(40)))
    if choice == 2:
        return "x" * rng.choice([0, 1, 4095, 4096, 70_000])
    if choice == 3:
        return "1\n" * rng.randrange(1, 50)
    if choice == 4:
        return rng.choice(["", " ", "\t1", "1 ", "yes", "true", "0x10", "1e3", "nan"])
    if choice == 5:
        return "".join(rng.choice("=\n\\%$ ") for _ in range(rng.randrange(20)))
    return str(rng.randrange(10**6))


def unparsable(rng: random.Random) -> str:
    return rng.choice(["", "abc", " 1x", "-", "1.5.5", "\x00", "trigger!", "9" * 40 + "z"])


def datagram(rng: random.Random) -> bytes:
    kind = rng.randrange(10)
    if kind == 0:
        return rng.randbytes(rng.randrange(0, 2000))
    if kind == 1:
        return b""
    if kind == 2:
        return b"STATUS=" + b"s" * rng.choice([60_000, 200_000])
    lines = []
    for _ in range(rng.randrange(1, 8)):
        if rng.random() < 0.15:
            lines.append(f"{rng.choice(UNPARSABLE_ONLY)}={unparsable(rng)}")
        else:
            lines.append(f"{rng.choice(KEYS)}={value(rng)}")
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def descriptors(rng: random.Random) -> list[int]:
    fds: list[int] = []
    for _ in range(rng.choice([1, 1, 2, 3, 8, 64])):
        if rng.random() < 0.5:
            read_end, write_end = os.pipe()
            os.close(write_end)
            fds.append(read_end)
        else:
            fds.append(os.open("/dev/null", os.O_RDONLY))
    return fds


def main() -> None:
    seed, count, done = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    address = os.environ["NOTIFY_SOCKET"]
    if address.startswith("@"):
        address = "\0" + address[1:]
    sent = with_fds = fds_passed = refused = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
        out.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        for _ in range(count):
            data = datagram(rng)
            fds = descriptors(rng) if rng.random() < 0.3 else []
            ancillary = []
            if fds:
                ancillary = [
                    (socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())
                ]
            try:
                out.sendmsg([data], ancillary, 0, address)
                sent += 1
                with_fds += bool(fds)
                fds_passed += len(fds)
            except OSError:
                refused += 1  # EMSGSIZE for the biggest: the kernel's limit, not ours
            for fd in fds:
                os.close(fd)
        read_end, write_end = os.pipe()
        barrier = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [write_end]).tobytes())]
        out.sendmsg([b"BARRIER=1"], barrier, 0, address)
        os.close(write_end)
        select.select([read_end], [], [], 60.0)  # EOF once the manager closed its copy
        os.close(read_end)
    tally = {"sent": sent, "with_fds": with_fds, "fds": fds_passed, "refused": refused}
    with open(done + ".tmp", "w") as file:
        json.dump(tally, file)
    os.rename(done + ".tmp", done)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
