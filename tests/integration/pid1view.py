"""guestinit as PID 1 of a test, seen from outside its namespace: its host
pid, /proc figures (descriptors, RSS), its control socket (reached through
/proc/PID/root), its log lines (stderr, drained in a thread: a full pipe would
stall PID 1's log writes) and its responsiveness."""

import json
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from tests.integration.initrun import InitRun
from tests.sandbox import Sandbox, wait_for

PROGRAMS = Path(__file__).resolve().parent / "programs"


def start_idle(sandbox: Sandbox) -> "Pid1":
    """guestinit as PID 1 with no unit running, a main process that waits for
    signals (it prints "ready" first) and its control socket up."""
    sandbox.unit("idle.target", "[Unit]\nDefaultDependencies=no\n")
    run = sandbox.start(
        "--start=idle.target", "--no-wait", "--", sys.executable, str(PROGRAMS / "trap_all.py")
    )
    assert run.read_line(timeout=120) == "ready"
    target = Pid1(run)
    wait_for(lambda: os.path.exists(target.socket), timeout=120)
    return target


class Pid1:
    """The run, seen from outside: its pid, /proc figures, its control socket."""

    def __init__(self, run: InitRun) -> None:
        self.run = run
        self.pid = run.init_pid()
        self.root = f"/proc/{self.pid}/root"
        self.socket = f"{self.root}/run/guestinit/control.sock"
        self.log_lines = 0
        self.log: list[str] = []
        # stderr must be drained: a full pipe would stall PID 1's log writes.
        assert run.process is not None and run.process.stderr is not None
        self._stderr = run.process.stderr
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self._stderr:
            self.log_lines += 1
            if len(self.log) < 100_000:
                self.log.append(line.decode(errors="replace"))

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss(self) -> int:
        for row in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def request(self, message: dict[str, object], timeout: float = 90) -> dict[str, object]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(self.socket)
            sock.settimeout(timeout)
            sock.sendall(json.dumps(message).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(1 << 20)
                assert chunk, f"closed without an answer to {message}"
                data += chunk
        answer: dict[str, object] = json.loads(data)
        return answer

    def assert_healthy(self, stage: str) -> None:
        assert os.path.exists(f"/proc/{self.pid}"), f"PID 1 died during {stage}"
        answer = self.request({"id": 7, "verb": "health", "args": {}})
        assert answer["ok"] and answer["id"] == 7, (stage, answer)
        self.run.signal(signal.SIGUSR1)
        while (line := self.run.read_line(timeout=90)) != f"got {int(signal.SIGUSR1)}":
            assert line.startswith("got "), line
