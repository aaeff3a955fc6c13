"""The keeper's side effects that need a real process: is it stopped?"""

import signal
import subprocess
import time
from collections.abc import Callable

from guestinit.shim.system import process_stopped


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def test_process_stopped_tells_a_sigstopped_process_from_a_running_one() -> None:
    child = subprocess.Popen(["sleep", "60"])
    try:
        assert not process_stopped(child.pid)
        child.send_signal(signal.SIGSTOP)
        assert wait_until(lambda: process_stopped(child.pid))
        child.send_signal(signal.SIGCONT)
        assert wait_until(lambda: not process_stopped(child.pid))
    finally:
        child.kill()
        child.wait()
    assert not process_stopped(child.pid)  # gone: not stopped
