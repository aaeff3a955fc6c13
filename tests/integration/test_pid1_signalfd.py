"""The dumb-init signal set catches the fault signals through a signalfd:
one sent by a process is read back and forwarded, a real fault of ours still
kills us (blocked synchronous faults are fatal), never an endless loop."""

import subprocess
import sys

import pytest

SCRIPT = """
import ctypes, os, resource, signal, threading
from guestinit.pid1.signals import DUMB_INIT, SignalSource

resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
source = SignalSource(DUMB_INIT)
os.kill(os.getpid(), signal.SIGSEGV)                            # SI_USER
signal.pthread_kill(threading.get_ident(), signal.SIGBUS)       # SI_TKILL
print("sent", sorted(source.read()), flush=True)
ctypes.string_at(0)                                             # a real SIGSEGV of ours
print("survived", flush=True)
"""


def test_sent_faults_are_read_and_a_real_fault_still_kills() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, timeout=60, check=False
    )
    assert done.stdout.decode().splitlines() == ["sent [7, 11]"]
    assert done.returncode == -11, done.stderr


@pytest.mark.parametrize("signal_set", ["native", "tini"])
def test_other_sets_do_not_touch_the_faults(signal_set: str) -> None:
    script = (
        "from guestinit.pid1.signals import SignalSource\n"
        f"source = SignalSource({signal_set!r})\n"
        "print(source.fault_fileno(), 11 in source.caught, open('/proc/self/status').read())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=True
    )
    words = done.stdout.decode().split()
    assert words[:2] == ["None", "False"]
    blocked = int(words[words.index("SigBlk:") + 1], 16)
    assert blocked == 0
