"""A qemu guest under test: start it, follow its serial console, talk QMP, log in by ssh.

TCG only (``/dev/kvm`` here is nested and stalls stock kernels). Every Vm is
started by us and killed by its pid in ``close()``, whatever happened; the
serial console goes to a file so a failing test can show it.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QEMU = "qemu-system-x86_64"
SSH_OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=5",
)  # fmt: skip


def patience() -> float:
    """How much longer than on an idle host a guest may take right now: TCG guests
    run at the speed of the host threads they get, so on a 2-core host shared with
    other work (CI, several test runs) everything a guest does stretches with the
    load. 1 on an idle host; at most 4."""
    busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    return min(4.0, max(1.0, busy))


@dataclass(frozen=True)
class BootFiles:
    """What a guest boots: kernel, initramfs, a base root disk and the key root logs in with."""

    vmlinux: Path
    initramfs: Path
    disk: Path
    ssh_key: Path


@dataclass(frozen=True)
class QmpEvent:
    name: str
    data: dict[str, Any]
    at: float  # time.monotonic() when read


class QmpError(RuntimeError):
    pass


class Qmp:
    """QMP over qemu's unix socket: one JSON object per line; answers carry
    "return" or "error", events carry "event" and are kept in ``events``."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        self.sock = socket.socket(socket.AF_UNIX)
        while True:
            try:
                self.sock.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.buffer = b""
        self.events: list[QmpEvent] = []
        self.closed = False
        self._read_message(timeout)  # the greeting
        self.execute("qmp_capabilities")

    def execute(self, command: str, timeout: float = 30.0, **arguments: Any) -> Any:
        message: dict[str, Any] = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            reply = self._read_message(timeout)
            if reply is None:
                raise QmpError(f"qemu closed QMP before answering {command}")
            if "error" in reply:
                raise QmpError(f"{command}: {reply['error']}")
            if "return" in reply:
                return reply["return"]

    def wait_event(self, name: str, timeout: float) -> QmpEvent | None:
        """The first event NAME (seen before or within TIMEOUT); None if QMP closed first."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.name == name:
                    return event
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no QMP event {name} within {timeout}s")
            if self._read_message(left) is None:
                return None

    def drain(self, timeout: float) -> None:
        """Reads events until qemu closes the socket (it exits) or TIMEOUT."""
        deadline = time.monotonic() + timeout
        try:
            while self._read_message(deadline - time.monotonic()) is not None:
                pass
        except TimeoutError:
            pass

    def _read_message(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            if self.closed:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("QMP: no message")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.closed = True
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        if "event" in message:
            self.events.append(
                QmpEvent(message["event"], message.get("data", {}), time.monotonic())
            )
        return message

    def close(self) -> None:
        self.sock.close()


@dataclass
class Vm:
    """One running guest. ``boot()`` starts it; ``close()`` always ends it."""

    files: BootFiles
    workdir: Path
    ssh_port: int
    append: str = ""
    memory_mb: int = 1024
    # One vCPU unless a test needs more: with two on a 2-core host that runs other
    # work, one vCPU thread can go unscheduled long enough for the guest kernel to
    # report a soft lockup and miss a test's deadline (seen in a full run).
    cpus: int = 1
    process: subprocess.Popen[bytes] | None = None
    qmp: Qmp | None = None
    started_at: float = 0.0
    _serial_offset: int = field(default=0, repr=False)

    @property
    def disk(self) -> Path:
        return self.workdir / "disk.raw"

    @property
    def serial_log(self) -> Path:
        return self.workdir / "serial.log"

    def command(self) -> list[str]:
        append = f"console=ttyS0 root=/dev/vda rw panic=-1 init=/sbin/init {self.append}"
        return [
            # -cpu max: TCG's fullest model. It has RDRAND, so the kernel's random pool
            # is ready at once (with qemu64 only after ~4 s), and newer instructions for
            # glibc: root mount -> guestinit's first boot step took 1.35 s, not 2.1 s.
            QEMU, "-accel", "tcg", "-cpu", "max", "-m", str(self.memory_mb),
            "-smp", str(self.cpus),
            "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", str(self.files.vmlinux), "-initrd", str(self.files.initramfs),
            "-append", append.strip(),
            "-drive", f"file={self.disk},if=virtio,format=raw",
            # restrict=on: the guest reaches nothing but our forwarded port.
            "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
            "-device", "virtio-net-pci,netdev=n0",
            "-serial", f"file:{self.serial_log}",
            "-qmp", f"unix:{self.workdir / 'qmp.sock'},server=on,wait=off",
        ]  # fmt: skip

    def boot(self) -> None:
        """A fresh copy of the base disk (the base stays clean), then qemu."""
        copy = ["cp", "--reflink=auto", "--sparse=always", str(self.files.disk), str(self.disk)]
        subprocess.run(copy, check=True)
        with open(self.workdir / "qemu.out", "wb") as out:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        self.qmp = Qmp(self.workdir / "qmp.sock")

    def serial_text(self) -> str:
        try:
            return self.serial_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_serial(
        self, pattern: str, timeout: float, since_mark: bool = True, poll: float = 0.05
    ) -> re.Match[str]:
        """The first match of PATTERN on the console (after the last ``mark()``);
        TIMEOUT is for an idle host and stretched by ``patience()``."""
        timeout *= patience()
        deadline = time.monotonic() + timeout
        compiled = re.compile(pattern, re.MULTILINE)
        while True:
            text = self.serial_text()
            found = compiled.search(text, self._serial_offset if since_mark else 0)
            if found:
                return found
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"qemu exited before {pattern!r}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pattern!r} not on the console in {timeout}s:\n{self.tail()}")
            time.sleep(poll)

    def mark(self) -> None:
        """Later ``wait_serial`` calls only look at console output from now on."""
        self._serial_offset = len(self.serial_text())

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.serial_text().splitlines()[-lines:])

    def ssh(self, command: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        timeout *= patience()
        argv = [
            "ssh", "-i", str(self.files.ssh_key), "-p", str(self.ssh_port), *SSH_OPTIONS,
            "root@127.0.0.1", command,
        ]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def wait_ssh(self, timeout: float) -> float:
        """Seconds since boot() until a login ran ``true``."""
        timeout *= patience()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.ssh("true", timeout=15).returncode == 0:
                    return time.monotonic() - self.started_at
            except subprocess.TimeoutExpired:
                pass
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"qemu exited before ssh worked:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ssh login within {timeout}s:\n{self.tail()}")
            time.sleep(0.2)

    def wait_exit(self, timeout: float) -> int:
        """qemu's exit status; QMP events up to its exit are kept in ``qmp.events``."""
        assert self.process is not None and self.qmp is not None
        timeout *= patience()
        deadline = time.monotonic() + timeout
        self.qmp.drain(timeout)
        try:
            return self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"qemu still running after {timeout}s:\n{self.tail()}") from None

    def shutdown_reason(self) -> str | None:
        """The SHUTDOWN event's reason: guest-shutdown (poweroff), guest-reset
        (reboot, with -no-reboot qemu exits), host-qmp-quit, ..."""
        assert self.qmp is not None
        for event in self.qmp.events:
            if event.name == "SHUTDOWN":
                return str(event.data.get("reason"))
        return None

    def close(self) -> None:
        """Ends qemu (ours, by pid) and removes the disk copy."""
        if self.qmp is not None:
            self.qmp.close()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.disk.unlink(missing_ok=True)
