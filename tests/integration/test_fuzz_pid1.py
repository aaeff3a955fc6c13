"""Bounded, seeded fuzzing of guestinit as PID 1 (issue 12): garbage, huge,
partial and many control connections; notify datagrams with and without
passed descriptors, from a unit; random and broken unit files, started and
reloaded. After each stage PID 1 must be alive, its loop responsive (a control
request answered, a forwarded signal delivered), and its descriptors and RSS
bounded, read from /proc outside the namespace.

The seed is fixed (FUZZ_SEED overrides it) so that a failure in CI replays
exactly; the whole module takes well under two minutes on an idle machine.
"""

import contextlib
import json
import os
import random
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.pid1view import Pid1, start_idle
from tests.sandbox import Sandbox, wait_for

SEED = int(os.environ.get("FUZZ_SEED", "20261208"))
PROGRAMS = Path(__file__).resolve().parent / "programs"
CONTROL_MESSAGES = 3000
NOTIFY_DATAGRAMS = 2000
UNIT_FILES = 200
MIB = 1024 * 1024

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces")

# Verbs a fuzzer may send: none of them ends guestinit or its main process.
SAFE_VERBS = [
    "status",
    "is-active",
    "is-failed",
    "is-enabled",
    "list-units",
    "list-timers",
    "cat",
    "show",
    "health",
    "start",
    "daemon-reload",
    "bogus",
    "",
    "STATUS",
]


@pytest.fixture
def pid1(sandbox: Sandbox) -> Iterator[Pid1]:
    target = start_idle(sandbox)
    target.assert_healthy("start-up")
    yield target


def control_garbage(rng: random.Random) -> bytes:
    kind = rng.randrange(8)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 300)).replace(b"\n", b"") + b"\n"
    if kind == 1:
        return b"[" * rng.randrange(1, 5000) + b"\n"  # deep nesting
    if kind == 2:
        return b'{"id": 1, "verb": "status", "args": {"units": ["' + b"a" * 300 + b'"]}}\n'
    if kind == 3:
        return (
            json.dumps({"id": rng.choice([-1, 2**70, "x", None, 1.5]), "verb": "status"}).encode()
            + b"\n"
        )
    if kind == 4:
        units = ["".join(rng.choice("abc.-@\\/%") for _ in range(rng.randrange(1, 30)))]
        args: object = rng.choice([{"units": units}, {"units": "x"}, [], {"zzz": 1}, None])
        verb = rng.choice(SAFE_VERBS)
        return json.dumps({"id": rng.randrange(100), "verb": verb, "args": args}).encode() + b"\n"
    if kind == 5:
        return b"\xff\xfe" + rng.randbytes(20).replace(b"\n", b"") + b"\n"
    if kind == 6:
        return (
            json.dumps(
                {"id": 3, "verb": "status", "args": {"units": ["x.service"] * 5000}}
            ).encode()
            + b"\n"
        )
    return b"\n" * rng.randrange(1, 10)


def test_fuzz_control_notify_and_unit_files(pid1: Pid1, sandbox: Sandbox) -> None:
    rng = random.Random(SEED)
    fds_before, rss_before = pid1.fds(), pid1.rss()
    figures: dict[str, object] = {"seed": SEED}

    # ---- control socket: garbage lines, huge lines, partial lines, crowds ----
    sent = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(pid1.socket)
        sock.settimeout(60)
        reader = threading.Thread(target=lambda: _read_all(sock), daemon=True)
        reader.start()
        for _ in range(CONTROL_MESSAGES):
            try:
                sock.sendall(control_garbage(rng))
            except (BrokenPipeError, ConnectionResetError):
                break  # a line it refused ends the connection: open another
            sent += 1
        sock.shutdown(socket.SHUT_WR)
        reader.join(60)
    for _ in range(5):  # past the 1 MiB line limit: one error, then closed
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(pid1.socket)
            sock.settimeout(60)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(b'{"id": 1, "verb": "status", "x": "' + b"h" * (MIB + 10))
            _read_all(sock)
            sent += 1
    crowd = []
    for index in range(150):  # idle and half-sent connections: never a lockout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(pid1.socket)
        if index % 2:
            sock.sendall(b'{"id": 1, "verb": "sta')
        crowd.append(sock)
    pid1.assert_healthy("a crowd of 150 slow connections")
    for sock in crowd:
        sock.close()
    figures["control messages"] = sent + len(crowd)
    pid1.assert_healthy("control fuzzing")

    # ---- notify datagrams from a unit, 30 % of them with descriptors ----------
    done = sandbox.path("notify-fuzz.json")
    fuzzer = f"{sys.executable} {PROGRAMS / 'notify_fuzz.py'}"
    sandbox.unit(
        "notify-fuzz.service",
        f"[Service]\nNotifyAccess=all\nExecStart={fuzzer} {SEED} {NOTIFY_DATAGRAMS} {done}\n",
    )
    answer = pid1.request(
        {"id": 2, "verb": "start", "args": {"units": ["notify-fuzz.service"], "no_block": True}}
    )
    assert answer["ok"], answer
    wait_for(done.exists, timeout=180)
    tally = json.loads(done.read_text())
    figures["notify datagrams"] = tally
    pid1.assert_healthy("notify fuzzing")

    # ---- random and broken unit files: started, reloaded -----------------------
    names = [_write_random_unit(sandbox, rng, index) for index in range(UNIT_FILES)]
    for start in range(0, len(names), 50):
        batch = names[start : start + 50]
        answer = pid1.request(
            {"id": 3, "verb": "start", "args": {"units": batch, "no_block": True}}, timeout=120
        )
        assert answer["id"] == 3, answer
    assert pid1.request({"id": 4, "verb": "daemon-reload", "args": {}}, timeout=120)["ok"]
    status = pid1.request({"id": 5, "verb": "status", "args": {}}, timeout=120)
    assert status["ok"], status["error"]
    figures["unit files"] = len(names)
    pid1.assert_healthy("unit-file fuzzing")

    fds_after, rss_after = pid1.fds(), pid1.rss()
    figures["fds"] = f"{fds_before} -> {fds_after}"
    figures["rss MiB"] = f"{rss_before / MIB:.1f} -> {rss_after / MIB:.1f}"
    figures["log lines"] = pid1.log_lines
    print(f"\nfuzz figures: {json.dumps(figures)}")
    # Units started meanwhile hold a few pipes each (their output); nothing
    # the fuzzers passed may stay open.
    assert fds_after <= fds_before + 2 * len(names) // 10 + 20, figures
    assert tally["fds"] > 1000 and fds_after < fds_before + tally["fds"] // 10, figures
    assert rss_after <= max(2 * rss_before, rss_before + 40 * MIB), figures
    assert pid1.log_lines < 50_000, figures


def _read_all(sock: socket.socket) -> None:
    try:
        while sock.recv(1 << 20):
            pass
    except OSError:
        pass


SECTIONS = ["Unit", "Service", "Install", "Timer", "Socket", "Bogus", "", "Unit]"]
KEYS = [
    "Description",
    "After",
    "Before",
    "Requires",
    "Wants",
    "BindsTo",
    "PartOf",
    "Conflicts",
    "Type",
    "ExecStart",
    "ExecStop",
    "Restart",
    "RestartSec",
    "TimeoutStartSec",
    "RemainAfterExit",
    "Environment",
    "User",
    "WorkingDirectory",
    "ConditionPathExists",
    "OnCalendar",
    "OnActiveSec",
    "Unit",
    "X-Nothing",
    "",
]
# ExecStart= values are never arbitrary commands: only harmless or broken ones.
EXECS = ["/bin/true", "/bin/false", "-/nonexistent", "relative", "", "@/bin/true x", "!!/bin/true"]


def _write_random_unit(sandbox: Sandbox, rng: random.Random, index: int) -> str:
    suffix = rng.choice([".service", ".service", ".target", ".timer", ".socket", ".path"])
    name = f"fz{index}{suffix}"
    kind = rng.randrange(12)
    if kind == 0:
        data = rng.randbytes(rng.randrange(0, 3000))
    elif kind == 1:
        data = b"[Unit]\nDescription=" + b"d" * (MIB + rng.randrange(10)) + b"\n"
    elif kind == 2 and index % 40 == 2:
        data = b"[Unit]\n" + b"Documentation=x\n" * (5 * MIB // 16)  # over 4 MiB
    elif kind == 3:
        data = b"[Unit]\nDescription=a\\\n" + b"b\\\n" * rng.randrange(1, 20000) + b"\n"
    else:
        lines = []
        for _ in range(rng.randrange(1, 40)):
            if rng.random() < 0.2:
                lines.append(f"[{rng.choice(SECTIONS)}]")
                continue
            key = rng.choice(KEYS)
            if key in ("ExecStart", "ExecStop"):
                value = rng.choice(EXECS)
            elif key in ("After", "Before", "Requires", "Wants", "BindsTo", "PartOf"):
                value = " ".join(f"fz{rng.randrange(UNIT_FILES)}.service" for _ in range(3))
            else:
                value = "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(30)))
            separator = rng.choice(["=", "=", "=", " = ", ""])
            lines.append(f"{key}{separator}{value}")
        data = "\n".join(lines).encode("utf-8", "surrogatepass")
    (sandbox.units / name).write_bytes(data)
    return name
