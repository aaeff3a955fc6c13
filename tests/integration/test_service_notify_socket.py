"""The sd_notify socket against real senders: systemd-notify, Python
processes, descriptors passed with SCM_RIGHTS, oversized datagrams."""

import array
import errno
import fcntl
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from guestinit.service.notify_socket import MAX_MESSAGE, NotifySocket, Received, _take_ancillary


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(str(tmp_path / "run" / "guestinit" / "notify.sock"))
    try:
        yield sock
    finally:
        sock.close()


def send(path: str, data: bytes) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
        out.sendto(data, path)


def send_with_fds(path: str, data: bytes, fds: list[int]) -> None:
    # Not socket.send_fds: Python 3.11's ignores its address argument.
    rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
        out.sendmsg([data], rights, 0, path)


def open_fds() -> set[int]:
    """Our open descriptors, without opening one to find out."""
    found = set()
    for fd in range(4096):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.add(fd)
    return found


def collect(
    sock: NotifySocket, process: "subprocess.Popen[bytes]", timeout: float = 10
) -> list[Received]:
    """Receive while ``process`` runs (it may wait on us: sd_notify_barrier),
    then whatever is left."""
    got: list[Received] = []
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        assert time.monotonic() < deadline, "sender did not finish"
        select.select([sock], [], [], 0.05)
        got += sock.receive()
    return got + sock.receive()


def test_socket_file_directory_and_flags(notify: NotifySocket, tmp_path: Path) -> None:
    assert Path(notify.path).is_socket()
    assert Path(notify.path).stat().st_mode & 0o777 == 0o777
    assert fcntl.fcntl(notify.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    assert os.get_blocking(notify.fileno()) is False
    assert notify.receive() == []  # nothing pending: returns at once
    notify.close()
    assert not Path(notify.path).exists()
    notify.close()  # twice is fine


def test_stale_socket_is_replaced(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    old = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    old.bind(path)
    old.close()  # the file stays behind, as after a crash
    with NotifySocket(path) as sock:
        send(path, b"READY=1")
        assert [r.message.ready for r in sock.receive()] == [True]


def test_a_regular_file_is_not_removed(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    path.write_text("not a socket")
    with pytest.raises(OSError) as raised:
        NotifySocket(str(path))
    assert raised.value.errno == errno.EADDRINUSE
    assert path.read_text() == "not a socket"


def test_abstract_address() -> None:
    name = f"@guestinit-test-{os.getpid()}"
    with NotifySocket(name) as sock:
        send("\0" + name[1:], b"STATUS=abstract")
        assert [r.message.status for r in sock.receive()] == ["abstract"]


def test_credentials_are_the_sending_child(notify: NotifySocket) -> None:
    code = (
        "import socket, sys;"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM);"
        "s.sendto(b'READY=1\\nSTATUS=child\\nMAINPID=77', sys.argv[1])"
    )
    child = subprocess.Popen([sys.executable, "-c", code, notify.path])
    (received,) = collect(notify, child)
    assert child.returncode == 0
    assert (received.pid, received.uid, received.gid) == (child.pid, os.getuid(), os.getgid())
    assert received.message.ready
    assert received.message.status == "child"
    assert received.message.main_pid == 77


@pytest.mark.skipif(not os.access("/usr/bin/python3", os.X_OK), reason="needs /usr/bin/python3")
def test_unprivileged_sender_may_send() -> None:
    """A service running as another user reaches the socket (mode 0777 in a
    0755 folder); the credentials say who it is."""
    folder = tempfile.mkdtemp(prefix="guestinit-notify-")
    try:
        os.chmod(folder, 0o755)
        with NotifySocket(os.path.join(folder, "run", "notify.sock")) as sock:
            code = (
                "import socket, sys;"
                "socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', sys.argv[1])"
            )
            # The system Python: ours may live where nobody cannot read.
            child = subprocess.Popen(
                ["/usr/bin/python3", "-c", code, sock.path], user=65534, group=65534
            )
            (received,) = collect(sock, child)
    finally:
        shutil.rmtree(folder)
    assert child.returncode == 0
    assert (received.pid, received.uid, received.gid) == (child.pid, 65534, 65534)


def test_drains_every_pending_datagram(notify: NotifySocket) -> None:
    # At most net.unix.max_dgram_qlen (10 by default) wait in the queue; a
    # sender beyond that blocks until we drain.
    for number in range(8):
        send(notify.path, f"STATUS={number}".encode())
    got = notify.receive()
    assert [r.message.status for r in got] == [str(n) for n in range(8)]
    assert {r.pid for r in got} == {os.getpid()}
    assert notify.receive(limit=5) == []


def test_receive_limit_leaves_the_rest_readable(notify: NotifySocket) -> None:
    for number in range(5):
        send(notify.path, f"STATUS={number}".encode())
    assert len(notify.receive(limit=2)) == 2
    assert select.select([notify], [], [], 0)[0]
    assert len(notify.receive()) == 3


def test_passed_descriptors_are_closed_at_once(notify: NotifySocket) -> None:
    read_end, write_end = os.pipe()
    try:
        before = open_fds()
        send_with_fds(notify.path, b"FDSTORE=1\nFDNAME=db", [write_end, read_end, write_end])
        (received,) = notify.receive()
        assert open_fds() == before
        assert received.fds_closed == 3
        assert received.message.fdstore_refused
    finally:
        os.close(read_end)
        os.close(write_end)


def test_barrier_is_answered_by_closing(notify: NotifySocket) -> None:
    """sd_notify_barrier: the sender passes a pipe's write end, drops its own
    copy and waits for the read end to hang up."""
    code = """
import array, os, select, socket, sys
r, w = os.pipe()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))]
s.sendmsg([b"BARRIER=1"], rights, 0, sys.argv[1])
os.close(w)
poller = select.poll()
poller.register(r, select.POLLHUP)
print("hangup" if poller.poll(5000) else "timeout", flush=True)
"""
    child = subprocess.Popen([sys.executable, "-c", code, notify.path], stdout=subprocess.PIPE)
    got = collect(notify, child)
    assert child.stdout is not None
    assert child.stdout.read() == b"hangup\n"
    assert [(r.message.barrier, r.fds_closed) for r in got] == [(True, 1)]


def test_oversized_datagram_is_dropped(notify: NotifySocket) -> None:
    send(notify.path, b"STATUS=" + b"x" * MAX_MESSAGE)
    send(notify.path, b"READY=1")
    got = notify.receive()
    assert [r.message.ready for r in got] == [True]
    assert notify.counts.truncated == 1
    (dropped,) = notify.take_dropped()
    assert (dropped.reason, dropped.pid) == ("truncated", os.getpid())
    assert notify.take_dropped() == []


def test_largest_datagram_that_fits(notify: NotifySocket) -> None:
    status = "y" * (MAX_MESSAGE - len("STATUS="))
    send(notify.path, f"STATUS={status}".encode())
    assert [r.message.status for r in notify.receive()] == [status]


def test_oversized_datagram_with_descriptors_still_closes_them(notify: NotifySocket) -> None:
    read_end, write_end = os.pipe()
    try:
        before = open_fds()
        send_with_fds(notify.path, b"X=" + b"z" * MAX_MESSAGE, [read_end])
        assert notify.receive() == []
        assert open_fds() == before
        assert [d.fds_closed for d in notify.take_dropped()] == [1]
    finally:
        os.close(read_end)
        os.close(write_end)


def test_bad_content_is_received_with_errors(notify: NotifySocket) -> None:
    send(notify.path, b"\xff\xfe\nREADY=1\nMAINPID=abc")
    (received,) = notify.receive()
    assert received.message.ready
    assert len(received.message.errors) == 2


def test_ancillary_parsing_without_credentials_or_with_partial_fds() -> None:
    read_end, write_end = os.pipe()
    os.close(write_end)
    partial = read_end.to_bytes(4, sys.byteorder, signed=True) + b"\x01\x02"
    credentials, closed = _take_ancillary([(socket.SOL_SOCKET, socket.SCM_RIGHTS, partial)])
    assert (credentials, closed) == (None, 1)
    with pytest.raises(OSError):
        os.fstat(read_end)  # closed by _take_ancillary
    pid_zero = (0).to_bytes(4, sys.byteorder) * 3
    assert _take_ancillary([(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, pid_zero)]) == (None, 0)


@pytest.mark.skipif(not shutil.which("systemd-notify"), reason="systemd-notify not installed")
def test_systemd_notify(notify: NotifySocket) -> None:
    """systemd-notify is short-lived, so (when privileged, as here) it sends
    the state with its *parent's* pid in the credentials: the shell below.
    Then it waits on a barrier, which our closing of the fd releases."""
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    shell = subprocess.Popen(
        ["sh", "-c", "systemd-notify --ready --status='warming up' & echo $!; wait $!; exit $?"],
        env=env,
        stdout=subprocess.PIPE,
    )
    got = collect(notify, shell)
    assert shell.stdout is not None
    notify_pid = int(shell.stdout.read())
    assert shell.returncode == 0  # the barrier did not time out
    state = [r for r in got if r.message.ready]
    assert [(r.pid, r.message.status) for r in state] == [(shell.pid, "warming up")]
    barrier = [r for r in got if r.message.barrier]
    assert [(r.pid, r.fds_closed) for r in barrier] == [(notify_pid, 1)]
    assert all(not r.message.errors for r in got)


@pytest.mark.skipif(not shutil.which("systemd-notify"), reason="systemd-notify not installed")
def test_systemd_notify_mainpid(notify: NotifySocket) -> None:
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    child = subprocess.Popen(["systemd-notify", "--pid=4321", "WATCHDOG=1", "STOPPING=1"], env=env)
    got = collect(notify, child)
    assert child.returncode == 0
    (state,) = [r for r in got if not r.message.barrier]
    assert state.message.main_pid == 4321
    assert state.message.watchdog and state.message.stopping
