"""Run inside a fresh PID and mount namespace, already in the test's v1 cgroup:
start ``procshim mount``, ask real readers what they see, kill -9 the server
(its guard detaches the dead binds) and start it again, stop it with SIGTERM,
and print every reading as one JSON object on stdout.

    python readers_inside.py MOUNTPOINT HIDDEN_MEMORY_CGROUP

HIDDEN_MEMORY_CGROUP is an empty child of the test's memory cgroup: a reader
moves there and an empty tmpfs then covers it, so the server finds no memory
data for that reader (as for a cgroup it cannot read) and must pass the
host's file through.

Used by test_shim_readers.py; prints the server's stderr on its own stderr.
"""

import errno
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any

PATHS = ("/proc/meminfo", "/proc/cpuinfo", "/proc/stat", "/proc/uptime")
CPU_FILES = ("online", "possible", "present")
NODE = "const os = require('os'); console.log(JSON.stringify([os.totalmem(), os.cpus().length]))"
CHUNKS = (1, 4096, 65536)


def boot_clock() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def read_text(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


def read_with(path: str, chunk: int) -> str:
    """The whole file, read through one descriptor ``chunk`` bytes at a time."""
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = []
        while part := os.read(fd, chunk):
            parts.append(part)
        return b"".join(parts).decode()
    finally:
        os.close(fd)


def read_mixed(path: str) -> str:
    """One descriptor, one snapshot: 1-byte reads, then 4 KB, then 64 KB ones."""
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = [os.read(fd, 1) for _ in range(100)]
        parts.append(os.read(fd, 4096))
        while part := os.read(fd, 65536):
            parts.append(part)
        return b"".join(parts).decode()
    finally:
        os.close(fd)


def reread_after_seek(path: str, pause: float) -> list[str]:
    """Read, wait, lseek(0), read again: the texts of both passes."""
    fd = os.open(path, os.O_RDONLY)
    try:
        first = os.read(fd, 65536)
        assert os.read(fd, 65536) == b""  # at the end: nothing more
        time.sleep(pause)
        os.lseek(fd, 0, os.SEEK_SET)
        second = os.read(fd, 65536)
        return [first.decode(), second.decode()]
    finally:
        os.close(fd)


def read_slowly(path: str, pause: float) -> list[str]:
    """One byte per read, with a pause between, of a descriptor opened
    between two quick reads: [quick before, slow, quick after the open]."""
    before = read_text(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        after_open = read_text(path)
        parts = []
        while part := os.read(fd, 1):
            parts.append(part)
            time.sleep(pause)
        return [before, b"".join(parts).decode(), after_open]
    finally:
        os.close(fd)


def run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


class NotReady(Exception):
    pass


def start_server(mountpoint: str) -> subprocess.Popen[bytes]:
    read_end, write_end = os.pipe()
    command = [sys.executable, "-m", "procshim", "mount", "--mountpoint", mountpoint]
    server = subprocess.Popen([*command, "--ready-fd", str(write_end)], pass_fds=[write_end])
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], 20)
    line = os.read(read_end, 64) if ready else b""
    if not line.startswith(b"READY guard="):  # READY, and a guard that cleans up after it
        server.kill()
        raise NotReady(f"procshim mount never said READY (got {line!r}, rc {server.wait()})")
    # The read end stays open (the heartbeat keeps writing ALIVE) until we exit.
    return server


def total_kb(text: str) -> int:
    return int(text.split()[1])


class MeminfoSampler(threading.Thread):
    """Opens /proc/meminfo over and over: MemTotal in kB, or "E<errno>"."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[list[Any]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                value: int | str = total_kb(read_with("/proc/meminfo", 4096))
            except OSError as error:
                value = f"E{errno.errorcode.get(error.errno or 0, error.errno)}"
            self.samples.append([time.monotonic(), value])
            time.sleep(0.002)


def readers(hidden: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    found["free_m"] = run("free", "-m")
    import psutil  # imported after the binds, as a program started in the container would

    found["psutil_total"] = psutil.virtual_memory().total
    count = "import os; print(os.cpu_count())"
    found["cpu_count"] = int(run(sys.executable, "-I", "-S", "-c", count))
    found["getconf"] = int(run("getconf", "_NPROCESSORS_ONLN"))
    if shutil.which("node"):
        found["node"] = json.loads(run("node", "-e", NODE))
    found["cpuinfo"] = read_text("/proc/cpuinfo")
    found["cpu_files"] = {name: read_text(f"/sys/devices/system/cpu/{name}") for name in CPU_FILES}
    before = boot_clock()
    found["uptime"] = read_text("/proc/uptime")
    found["uptime_read_between"] = [before, boot_clock()]
    found["chunked"] = {path: {str(c): read_with(path, c) for c in CHUNKS} for path in PATHS}
    found["mixed"] = {path: read_mixed(path) for path in PATHS}
    found["seek_uptime"] = reread_after_seek("/proc/uptime", 0.3)
    found["slow_uptime"] = read_slowly("/proc/uptime", 0.05)
    found["seek_meminfo"] = reread_after_seek("/proc/meminfo", 0.0)
    # A reader the server has no memory data for: moved into the hidden cgroup first.
    script = f"""echo 0 > "{hidden}/cgroup.procs"
        mount -t tmpfs hidden "{hidden}"
        grep memory /proc/self/cgroup
        echo ---
        cat /proc/meminfo"""
    found["hidden_cgroup"], _, found["hidden_meminfo"] = run("sh", "-ec", script).partition("---\n")
    return found


def mounts_of(mountpoint: str) -> list[str]:
    """mountinfo lines of the FUSE mount or of any bind of its files."""
    lines = read_text("/proc/self/mountinfo").splitlines()
    return [line for line in lines if "procshim" in line or f" {mountpoint} " in line]


def restart_after_kill_9(
    server: subprocess.Popen[bytes], mountpoint: str, found: dict[str, Any]
) -> subprocess.Popen[bytes] | None:
    """kill -9: the server's guard detaches its dead mounts; a new server binds afresh."""
    server.kill()
    server.wait()
    deadline = time.monotonic() + 20
    while mounts_of(mountpoint) and time.monotonic() < deadline:
        time.sleep(0.01)  # the guard's unmounts are what we wait for
    found["mounts_after_kill_9"] = mounts_of(mountpoint)
    try:
        found["after_kill_9"] = read_text("/proc/meminfo")
    except OSError as error:
        found["after_kill_9"] = errno.errorcode.get(error.errno or 0, str(error.errno))
    try:
        server = start_server(mountpoint)
    except NotReady as why:
        found["restart_failed"] = str(why)  # the tests of this and the stop fail on it
        return None
    found["restarted_meminfo"] = read_text("/proc/meminfo")
    found["mounts_restarted"] = mounts_of(mountpoint)
    return server


def stop_with_sigterm(
    server: subprocess.Popen[bytes], mountpoint: str, found: dict[str, Any]
) -> None:
    """SIGTERM while a reader keeps reading: the limit, then the host's file, never an error."""
    sampler = MeminfoSampler()
    sampler.start()
    time.sleep(0.2)
    found["stop_sent"] = time.monotonic()
    server.send_signal(signal.SIGTERM)
    found["server_rc"] = server.wait(timeout=20)
    found["server_gone"] = time.monotonic()
    time.sleep(0.3)
    sampler.done.set()
    sampler.join()
    found["stop_samples"] = sampler.samples
    found["mounts_after"] = mounts_of(mountpoint)
    found["meminfo_after"] = read_text("/proc/meminfo")
    found["free_m_after"] = run("free", "-m")


def main() -> None:
    mountpoint, hidden = sys.argv[1], sys.argv[2]
    found: dict[str, Any] = {"started": boot_clock(), "pid": os.getpid()}
    found["host"] = {path: read_text(path) for path in (*PATHS, "/proc/swaps")}
    server = start_server(mountpoint)
    found["mounts_serving"] = mounts_of(mountpoint)
    found.update(readers(hidden))
    found["hidden_unmounted"] = run("umount", hidden) == ""
    restarted = restart_after_kill_9(server, mountpoint, found)
    if restarted is not None:
        stop_with_sigterm(restarted, mountpoint, found)
    json.dump(found, sys.stdout)


if __name__ == "__main__":
    main()
