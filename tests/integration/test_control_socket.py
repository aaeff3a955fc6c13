"""The control socket for real: a ControlServer on a temporary path, driven by
a small select loop in a thread of the test, against ``guestinit ctl`` run as
a separate process, as root, as ``nobody`` and as a member of the control group."""

import errno
import json
import os
import pwd
import select
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from guestinit.control import server as server_module
from guestinit.control.protocol import (
    Request,
    Response,
    Verb,
    decode_response,
    encode_request,
)
from guestinit.control.results import JobsResult, StatesResult, ok_response
from guestinit.control.server import (
    DEFER,
    PERMISSION_DENIED,
    ControlServer,
    Deferred,
    PeerCred,
    parse_status_groups,
)
from tests.sandbox import wait_for

REPO = Path(__file__).resolve().parents[2]
CLIENT = "import sys; from guestinit.control.client import main; sys.exit(main(sys.argv[1:]))"
NOBODY, NOGROUP, DAEMON_GID = 65534, 65534, 1
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOGROUP}", "--clear-groups"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and util-linux setpriv"
)


def unit_status(name: str, active: str, sub: str) -> dict[str, object]:
    return {
        "name": name,
        "description": f"The {name.partition('.')[0]} daemon",
        "load_state": "loaded",
        "active_state": active,
        "sub_state": sub,
        "result": "success",
        "main_pid": 4242 if active == "active" else None,
        "main_name": "sshd" if active == "active" else None,
        "since": 1700000000.0,
        "last_exit": None,
        "restarts": 0,
        "tasks": None,
        "memory_bytes": None,
        "cpu_seconds": None,
        "status_text": None,
        "path": f"/etc/systemd/system/{name}",
        "enabled": "enabled",
    }


UNITS = {
    "sshd.service": unit_status("sshd.service", "active", "running"),
    "cron.service": unit_status("cron.service", "inactive", "dead"),
}


class FakeManager:
    """Answers as the manager will: from a fixed table; ``start`` answers
    later (from the loop's next turn), as a job does."""

    def __init__(self) -> None:
        self.calls: list[tuple[Request, PeerCred]] = []
        self.server: ControlServer | None = None
        self.later: list[Callable[[], object]] = []
        self.big_result = ""
        self.hold = False  # start jobs wait for release()
        self.held: list[Callable[[], object]] = []

    def release(self) -> None:
        self.later += self.held
        self.held = []

    def __call__(self, request: Request, peer: PeerCred) -> Response | Deferred:
        self.calls.append((request, peer))
        verb = request.verb
        if verb is Verb.STATUS:
            status = {
                "units": [UNITS[u] for u in request.units if u in UNITS],
                "missing": [u for u in request.units if u not in UNITS],
            }
            return ok_response(request, status)  # type: ignore[arg-type]
        if verb is Verb.IS_ACTIVE:
            states: StatesResult = {
                "units": [
                    {
                        "name": u,
                        "state": str(UNITS[u]["active_state"]) if u in UNITS else "inactive",
                    }
                    for u in request.units
                ]
            }
            return ok_response(request, states)
        if verb is Verb.START:
            jobs: JobsResult = {
                "jobs": [
                    {"unit": u, "result": "done" if u in UNITS else "not-found", "message": None}
                    for u in request.units
                ]
            }
            server = self.server
            assert server is not None
            answer = ok_response(request, jobs)
            if self.hold:
                self.held.append(lambda: server.reply(peer.connection, answer))
            else:
                self.later.append(lambda: server.reply(peer.connection, answer))
            return DEFER
        if verb is Verb.DAEMON_RELOAD:
            raise RuntimeError("boom")
        if verb is Verb.SHOW:
            return Response.success(request.id, {"units": [], "blob": self.big_result})
        return ok_response(request, None)


class Loop(threading.Thread):
    """The PID-1 loop in miniature: select on the server's descriptors."""

    def __init__(self, server: ControlServer, manager: FakeManager) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.manager = manager
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                server = self.server
                readable, writable, _ = select.select(server.fds(), server.write_fds(), [], 0.02)
                for fd in {*readable, *writable}:
                    server.handle(fd)
                server.expire(time.monotonic())
                later, self.manager.later = self.manager.later, []
                for call in later:
                    call()
        except BaseException as error:
            self.error = error


class Control:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = str(folder / "run" / "guestinit" / "control.sock")
        self.manager = FakeManager()
        self._running: list[tuple[ControlServer, Loop]] = []

    def serve(self, **options: object) -> ControlServer:
        server = ControlServer(self.path, handler=self.manager, **options)  # type: ignore[arg-type]
        self.manager.server = server
        loop = Loop(server, self.manager)
        loop.start()
        self._running.append((server, loop))
        return server

    def stop(self) -> None:
        for server, loop in self._running:
            loop.stopping.set()
            loop.join(10)
            server.close()
            assert loop.error is None, loop.error
        self._running = []

    def ctl(
        self, *args: str, user: int | None = None, gid: int = NOGROUP, groups: str = ""
    ) -> "subprocess.CompletedProcess[str]":
        prefix: list[str] = []
        if user is not None:
            clear = [f"--groups={groups}"] if groups else ["--clear-groups"]
            prefix = ["setpriv", f"--reuid={user}", f"--regid={gid}", *clear]
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
        return subprocess.run(
            [*prefix, sys.executable, "-c", CLIENT, "--socket", self.path, *args],
            cwd="/",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def control() -> Iterator[Control]:
    # Not under pytest's tmp_path: its folders are 0700, and `nobody` must
    # be able to reach the socket for the refusal to come from SO_PEERCRED.
    folder = Path(tempfile.mkdtemp(prefix="guestinit-control-"))
    folder.chmod(0o755)
    helper = Control(folder)
    try:
        yield helper
    finally:
        helper.stop()
        shutil.rmtree(folder)


def raw_connection(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Blocking connect: with a timeout set, a full backlog gives EAGAIN at once.
    sock.connect(path)
    sock.settimeout(10)
    return sock


def read_responses(sock: socket.socket, count: int) -> list[Response]:
    data = b""
    while data.count(b"\n") < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    decoded = [decode_response(line) for line in data.splitlines()]
    assert all(isinstance(r, Response) for r in decoded), decoded
    return decoded  # type: ignore[return-value]


# --- the socket file ----------------------------------------------------------


def test_socket_file_directory_and_close(control: Control) -> None:
    server = control.serve()
    info = os.lstat(control.path)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert (info.st_uid, info.st_gid) == (0, 0)
    assert stat.S_IMODE(os.stat(os.path.dirname(control.path)).st_mode) == 0o755
    assert os.get_blocking(server.fileno()) is False
    control.stop()
    assert not os.path.exists(control.path)
    server.close()  # twice is fine


def test_with_a_control_group_the_socket_is_0660_and_the_groups(control: Control) -> None:
    control.serve(allowed_gid=NOGROUP)
    info = os.lstat(control.path)
    assert stat.S_IMODE(info.st_mode) == 0o660
    assert info.st_gid == NOGROUP


def test_a_stale_socket_is_replaced(control: Control) -> None:
    os.makedirs(os.path.dirname(control.path))
    old = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old.bind(control.path)
    old.close()  # the file stays behind, as after a crash
    control.serve()
    assert control.ctl("is-active", "sshd").returncode == 0


def test_a_live_socket_is_not_taken_over(control: Control) -> None:
    control.serve()
    with pytest.raises(OSError) as raised:
        ControlServer(control.path, handler=control.manager)
    assert raised.value.errno == errno.EADDRINUSE
    assert control.ctl("is-active", "sshd").returncode == 0


def test_a_regular_file_is_left_alone(control: Control) -> None:
    os.makedirs(os.path.dirname(control.path))
    Path(control.path).write_text("mine")
    with pytest.raises(OSError):
        ControlServer(control.path, handler=control.manager)
    assert Path(control.path).read_text() == "mine"


def test_closing_leaves_a_newer_servers_socket(control: Control) -> None:
    first = ControlServer(control.path, handler=control.manager)
    os.unlink(control.path)  # someone else's cleanup; a new server takes the path
    second = control.serve()
    first.close()
    assert os.path.exists(control.path)
    # close() probed the path with a connection of its own, which the second
    # server accepted; its loop drops it on the probe's EOF, a moment later.
    wait_for(lambda: second.open_connections() == 0, timeout=5.0)
    assert control.ctl("is-active", "sshd").returncode == 0


# --- guestinit ctl against it ---------------------------------------------------


def test_status_exit_codes(control: Control) -> None:
    control.serve()
    running = control.ctl("status", "sshd")
    assert running.returncode == 0, running.stderr
    assert "\u25cf sshd.service - The sshd daemon" in running.stdout
    assert "     Active: active (running) since " in running.stdout
    assert "   Main PID: 4242 (sshd)" in running.stdout
    inactive = control.ctl("status", "cron")
    assert inactive.returncode == 3
    assert "Active: inactive (dead)" in inactive.stdout
    missing = control.ctl("status", "nope")
    assert missing.returncode == 4
    assert missing.stderr == "Unit nope.service could not be found.\n"
    request, peer = control.manager.calls[0]
    assert request.units == ["sshd.service"]
    assert (peer.uid, peer.gid) == (0, 0) and peer.pid > 0


def test_is_active_exit_codes(control: Control) -> None:
    control.serve()
    active = control.ctl("is-active", "sshd")
    assert (active.returncode, active.stdout) == (0, "active\n")
    inactive = control.ctl("is-active", "cron.service")
    assert (inactive.returncode, inactive.stdout) == (3, "inactive\n")
    quiet = control.ctl("is-active", "-q", "cron")
    assert (quiet.returncode, quiet.stdout) == (3, "")


def test_start_is_answered_when_its_job_is_over(control: Control) -> None:
    control.serve()
    done = control.ctl("start", "sshd")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    missing = control.ctl("start", "nope")
    assert missing.returncode == 5
    assert missing.stderr == "Failed to start nope.service: Unit nope.service not found.\n"


def test_json_prints_the_answer(control: Control) -> None:
    control.serve()
    result = control.ctl("--json", "is-active", "sshd")
    assert result.returncode == 0
    answer = json.loads(result.stdout)
    assert answer == {
        "id": 1,
        "ok": True,
        "exit": 0,
        "result": {"units": [{"name": "sshd.service", "state": "active"}]},
        "error": None,
    }


def test_a_handler_exception_is_an_error_answer(control: Control) -> None:
    control.serve()
    failed = control.ctl("daemon-reload")
    assert failed.returncode == 1
    assert failed.stderr == "guestinit: internal error: RuntimeError: boom\n"
    assert control.ctl("is-active", "sshd").returncode == 0  # still serving


def test_no_manager_listening(control: Control) -> None:
    result = control.ctl("status")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"guestinit: cannot reach the service manager at {control.path}: No such file"
    )


# --- who may ask --------------------------------------------------------------


def test_an_unprivileged_user_is_refused(control: Control) -> None:
    control.serve()
    os.chmod(control.path, 0o666)  # let the connect through: SO_PEERCRED must refuse
    refused = control.ctl("status", "sshd", user=NOBODY, gid=NOGROUP)
    assert refused.returncode == 4
    assert refused.stderr == f"guestinit: {PERMISSION_DENIED}\n"
    assert control.manager.calls == []  # its request was never looked at


def test_the_socket_mode_alone_refuses_too(control: Control) -> None:
    control.serve()
    refused = control.ctl("status", user=NOBODY, gid=NOGROUP)
    assert refused.returncode == 4
    assert "cannot reach the service manager" in refused.stderr
    assert "Permission denied" in refused.stderr


@pytest.mark.parametrize(
    ("gid", "groups"),
    [(NOGROUP, ""), (DAEMON_GID, str(NOGROUP))],
    ids=["primary-group", "supplementary-group"],
)
def test_a_member_of_the_control_group_is_accepted(control: Control, gid: int, groups: str) -> None:
    control.serve(allowed_gid=NOGROUP)
    accepted = control.ctl("is-active", "sshd", user=NOBODY, gid=gid, groups=groups)
    assert (accepted.returncode, accepted.stdout) == (0, "active\n"), accepted.stderr
    _request, peer = control.manager.calls[-1]
    assert (peer.uid, peer.gid) == (NOBODY, gid)
    if groups:
        assert NOGROUP in peer.groups


def test_supplementary_groups_from_proc_on_old_kernels(
    control: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "_SO_PEERGROUPS", 0x7FFF)  # ENOPROTOOPT
    control.serve(allowed_gid=NOGROUP)
    accepted = control.ctl("is-active", "sshd", user=NOBODY, gid=DAEMON_GID, groups=str(NOGROUP))
    assert accepted.returncode == 0, accepted.stderr
    assert NOGROUP in control.manager.calls[-1][1].groups


def test_a_user_outside_the_control_group_is_refused(control: Control) -> None:
    control.serve(allowed_gid=NOGROUP)
    os.chmod(control.path, 0o666)
    refused = control.ctl("is-active", "sshd", user=NOBODY, gid=DAEMON_GID)
    assert refused.returncode == 4
    assert PERMISSION_DENIED in refused.stderr


def test_parse_status_groups() -> None:
    text = "Name:\tbash\nUid:\t0\t0\t0\t0\nGroups:\t4 27 100 \nNgid:\t0\n"
    assert parse_status_groups(text) == {4, 27, 100}
    assert parse_status_groups("Groups:\t\n") == frozenset()
    assert parse_status_groups("Name:\tx\n") == frozenset()
    own = Path(f"/proc/{os.getpid()}/status").read_text()
    assert parse_status_groups(own) == set(os.getgroups())


# --- the wire, from a raw socket ------------------------------------------------


def test_pipelined_requests_get_every_answer(control: Control) -> None:
    control.serve()
    with raw_connection(control.path) as sock:
        lines = [
            b'{"id": 1, "verb": "is-active", "args": {"units": ["sshd.service"]}}\n',
            b"this is not json\n",
            b'{"id": 3, "verb": "halt"}\n',
            b'{"id": 4, "verb": "start", "args": {"units": ["sshd.service"]}}\n',
            b'{"id": 5, "verb": "status"}',  # the last line may lack its newline
        ]
        sock.sendall(b"".join(lines))
        sock.shutdown(socket.SHUT_WR)
        answers = read_responses(sock, 5)
        assert sock.recv(1) == b""  # closed after the last answer
    by_id = {r.id: r for r in answers}
    assert sorted(by_id) == [0, 1, 3, 4, 5]
    assert by_id[1].result == {"units": [{"name": "sshd.service", "state": "active"}]}
    assert (by_id[0].ok, by_id[0].exit) == (False, 2)
    assert by_id[0].error is not None and by_id[0].error.startswith("not a JSON line")
    assert (by_id[3].ok, by_id[3].result) == (True, None)
    assert by_id[4].result == {
        "jobs": [{"unit": "sshd.service", "result": "done", "message": None}]
    }
    assert by_id[5].result == {"units": [], "missing": []}
    _request, peer = control.manager.calls[0]
    assert (peer.pid, peer.uid) == (os.getpid(), 0)


def test_a_line_over_the_limit_ends_the_connection(control: Control) -> None:
    control.serve(max_line=1000)
    with raw_connection(control.path) as sock:
        sock.sendall(b'{"id": 1, "verb": "halt"}\n' + b"x" * 2000)
        answers = read_responses(sock, 2)
        assert sock.recv(1) == b""
    assert [(r.id, r.ok, r.exit) for r in answers] == [(1, True, 0), (0, False, 2)]
    assert answers[1].error == "request line longer than 1000 bytes"


def test_an_answer_over_the_outgoing_limit_becomes_an_error(control: Control) -> None:
    control.serve(max_outgoing=4096)
    control.manager.big_result = "x" * 10000
    with raw_connection(control.path) as sock:
        sock.sendall(encode_request(Request(7, Verb.SHOW, {})))
        (answer,) = read_responses(sock, 1)
    assert (answer.id, answer.ok) == (7, False)
    assert answer.error is not None and answer.error.startswith("response too large")


def test_big_answers_reach_a_slow_reader(control: Control) -> None:
    control.serve()
    control.manager.big_result = "y" * 3_000_000  # more than the socket buffer
    with raw_connection(control.path) as sock:
        sock.sendall(encode_request(Request(2, Verb.SHOW, {})))
        (answer,) = read_responses(sock, 1)
    assert answer.ok and answer.result == {"units": [], "blob": "y" * 3_000_000}


def test_a_client_gone_before_its_deferred_answer(control: Control) -> None:
    server = control.serve()
    with raw_connection(control.path) as sock:
        sock.sendall(encode_request(Request(1, Verb.START, {"units": ["sshd.service"]})))
        read_responses(sock, 1)
    sock = raw_connection(control.path)
    sock.sendall(encode_request(Request(1, Verb.START, {"units": ["sshd.service"]})))
    sock.close()  # before the answer
    assert control.ctl("is-active", "sshd").returncode == 0
    deadline = threading.Event()
    for _ in range(100):
        if server.open_connections() == 0:
            break
        deadline.wait(0.05)
    assert server.open_connections() == 0


def test_when_every_slot_waits_for_a_job_a_new_connection_is_refused(control: Control) -> None:
    control.serve(max_connections=2)
    control.manager.hold = True  # start jobs stay unanswered
    first, second = raw_connection(control.path), raw_connection(control.path)
    try:
        for sock in (first, second):
            sock.sendall(encode_request(Request(1, Verb.START, {"units": ["sshd.service"]})))
        wait_for(lambda: len(control.manager.calls) == 2)
        with raw_connection(control.path) as third:
            (answer,) = read_responses(third, 1)
            assert (answer.ok, answer.error) == (False, "too many connections")
    finally:
        first.close()
        second.close()


def test_a_new_connection_evicts_the_oldest_idle_one(control: Control) -> None:
    server = control.serve(max_connections=2, idle_timeout=120)
    first = raw_connection(control.path)
    wait_for(lambda: server.open_connections() == 1)
    second = raw_connection(control.path)
    try:
        wait_for(lambda: server.open_connections() == 2)
        assert control.ctl("is-active", "sshd").returncode == 0
        assert first.recv(1) == b"", "the oldest idle connection was closed"
        second.sendall(encode_request(Request(1, Verb.HALT, {})))
        assert read_responses(second, 1)[0].ok, "the younger one still works"
    finally:
        first.close()
        second.close()


def test_ctl_works_while_200_slow_clients_are_connected(control: Control) -> None:
    server = control.serve()
    slow: list[socket.socket] = []
    try:
        for index in range(200):
            sock = raw_connection(control.path)
            if index % 2:
                sock.sendall(b'{"id": 1, "verb": "st')  # a line that never ends
            slow.append(sock)
        assert server.open_connections() <= server_module.MAX_CONNECTIONS
        for _ in range(3):
            result = control.ctl("is-active", "sshd")
            assert result.returncode == 0, result.stderr
    finally:
        for sock in slow:
            sock.close()


def test_an_idle_connection_is_closed_after_the_idle_timeout(control: Control) -> None:
    server = control.serve(idle_timeout=0.5)
    with raw_connection(control.path) as sock:
        assert sock.recv(1) == b""  # closed by the server, within the socket's 10 s
    wait_for(lambda: server.open_connections() == 0)


def test_an_unfinished_line_is_answered_and_closed(control: Control) -> None:
    control.serve(request_timeout=0.5, idle_timeout=30)
    with raw_connection(control.path) as sock:
        sock.sendall(b'{"id": 1, "verb": "hal')
        (answer,) = read_responses(sock, 1)
        assert sock.recv(1) == b""
    assert (answer.ok, answer.exit, answer.error) == (False, 2, "request not complete after 0.5 s")


def test_a_line_sent_a_byte_at_a_time_cannot_hold_a_connection(control: Control) -> None:
    control.serve(request_timeout=0.5, idle_timeout=30)
    with raw_connection(control.path) as sock:
        begin = time.monotonic()
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for byte in b'{"id": 1, "verb": "halt"' * 1000:
                sock.send(bytes([byte]))
                time.sleep(0.01)
        assert time.monotonic() - begin < 20


def test_a_connection_waiting_for_its_job_is_not_timed_out(control: Control) -> None:
    # Short, but not so short that the request could be late on a busy machine.
    server = control.serve(idle_timeout=2, request_timeout=2)
    control.manager.hold = True
    with raw_connection(control.path) as sock:
        sock.sendall(encode_request(Request(3, Verb.START, {"units": ["sshd.service"]})))
        wait_for(lambda: len(control.manager.calls) == 1)
        with raw_connection(control.path) as other:
            assert other.recv(1) == b"", "an idle one meanwhile is closed"
        assert server.open_connections() == 1
        control.manager.release()
        assert read_responses(sock, 1)[0].id == 3


def test_one_huge_field_is_cut_rather_than_failing_the_answer(control: Control) -> None:
    control.serve(max_outgoing=64 * 1024)
    control.manager.big_result = "z" * 100_000
    with raw_connection(control.path) as sock:
        sock.sendall(encode_request(Request(8, Verb.SHOW, {})))
        (answer,) = read_responses(sock, 1)
    assert answer.ok and isinstance(answer.result, dict)
    blob = answer.result["blob"]
    assert blob.startswith("z" * 4096) and blob.endswith("[95904 more characters cut]")


def test_the_refusal_comes_first_and_alone(control: Control) -> None:
    control.serve()
    os.chmod(control.path, 0o666)
    script = (
        "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]);"
        "data = b''\nwhile True:\n    chunk = s.recv(4096)\n    if not chunk: break\n"
        "    data += chunk\nsys.stdout.write(data.decode())"
    )
    result = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", script, control.path],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(result.stdout) == {
        "id": 0,
        "ok": False,
        "exit": 4,
        "result": None,
        "error": PERMISSION_DENIED,
    }


def test_nobody_exists() -> None:
    assert pwd.getpwuid(NOBODY).pw_name == "nobody"
