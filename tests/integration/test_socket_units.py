"""Socket units for real, guestinit as PID 1: Accept=no hands the listening
descriptors over (LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, fds from 3 on) and
starts the service on the first connection or datagram, and again after it
exits; Accept=yes starts one instance per connection within MaxConnections=;
stop closes the listeners (RemoveOnStop= removes the node)."""

import grp
import json
import pwd
import socket
import stat
import sys
import time
from pathlib import Path

import pytest

from tests.integration.initrun import InitRun
from tests.sandbox import Sandbox, ctl, free_port, wait_for

SERVER = Path(__file__).parent / "programs" / "socket_server.py"


def connect_and_read(address: tuple[str, int] | str, family: int = socket.AF_INET) -> str:
    with socket.socket(family, socket.SOCK_STREAM) as client:
        client.settimeout(30)
        client.connect(address)
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def stop(run: InitRun) -> str:
    run.signal(15)
    assert run.wait(timeout=30) == 0
    return run.stderr.decode()


def report_lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_accept_no_passes_listeners_in_order_and_starts_on_each_connection(
    sandbox: Sandbox,
) -> None:
    port = free_port()
    path = sandbox.path("run/app/app.sock")  # parents made with DirectoryMode=
    sandbox.unit(
        "app.socket",
        f"[Socket]\nListenStream=127.0.0.1:{port}\nListenStream={path}\n"
        f"ListenDatagram=@guestinit-test-{port}\nFileDescriptorName=web\n"
        "SocketMode=0600\nDirectoryMode=0750\n",
    )
    sandbox.unit(
        "app.service",
        f"[Service]\nExecStart={sys.executable} {SERVER} {sandbox.path('report')}\n",
    )
    run = sandbox.start("-v", "--start=app.socket")
    wait_for(lambda: ctl(run, "is-active", "app.socket").returncode == 0, timeout=30)
    assert ctl(run, "is-active", "app.service").stdout.strip() == "inactive"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750

    first = json.loads(connect_and_read(("127.0.0.1", port)))
    assert first["LISTEN_PID"] == str(first["pid"])
    assert first["LISTEN_FDS"] == "3"
    assert first["LISTEN_FDNAMES"] == "web:web:web"
    fds = first["fds"]
    assert [d["fd"] for d in fds] == [3, 4, 5]
    assert [(d["family"], d["type"]) for d in fds] == [
        ("AF_INET", "SOCK_STREAM"),
        ("AF_UNIX", "SOCK_STREAM"),
        ("AF_UNIX", "SOCK_DGRAM"),
    ]
    assert fds[0]["address"] == ["127.0.0.1", port] and fds[1]["address"] == str(path)
    assert fds[2]["address"] == f"\0guestinit-test-{port}"
    assert fds[0]["listening"] and fds[0]["blocking"], "passed as systemd passes them"

    # The service exited after one connection: the socket listens again,
    # and the next connection starts a new process.
    second = json.loads(connect_and_read(str(path), socket.AF_UNIX))
    assert second["pid"] != first["pid"]
    # A datagram on the third socket starts it too.
    wait_for(lambda: ctl(run, "is-active", "app.service").stdout.strip() != "active")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
        client.sendto(b"hello", f"\0guestinit-test-{port}")
    wait_for(lambda: report_lines(sandbox.path("report")), timeout=30)
    [datagram] = report_lines(sandbox.path("report"))
    assert datagram["message"] == "hello" and datagram["ready_fd"] == 5
    err = stop(run)
    assert f"app.socket: listening on 127.0.0.1:{port}, {path}" in err


def test_service_started_with_its_socket_gets_the_descriptors_at_boot(
    sandbox: Sandbox,
) -> None:
    path = sandbox.path("boot.sock")
    sandbox.unit("boot.socket", f"[Socket]\nListenStream={path}\n")
    sandbox.unit(
        "boot.service",
        f"[Service]\nExecStart={sys.executable} {SERVER} {sandbox.path('report')}\n",
    )
    # Both wanted at boot: the socket is ordered before its service.
    run = sandbox.start("--start=boot.service", "--start=boot.socket")
    wait_for(lambda: ctl(run, "is-active", "boot.service").returncode == 0, timeout=30)
    answer = json.loads(connect_and_read(str(path), socket.AF_UNIX))
    assert answer["LISTEN_FDNAMES"] == "boot.socket", "the unit's name by default"
    assert answer["fds"][0]["address"] == str(path)
    stop(run)


def test_fifo_owned_by_socket_user_starts_its_service(sandbox: Sandbox) -> None:
    fifo = sandbox.path("in.fifo")
    sandbox.unit(
        "pipe.socket",
        f"[Socket]\nListenFIFO={fifo}\nSocketUser=nobody\nSocketGroup=nogroup\nSocketMode=0620\n",
    )
    sandbox.unit(
        "pipe.service",
        f"[Service]\nExecStart={sys.executable} {SERVER} {sandbox.path('report')}\n",
    )
    run = sandbox.start("--start=pipe.socket")
    wait_for(lambda: fifo.exists() and stat.S_ISFIFO(fifo.stat().st_mode), timeout=30)
    node = fifo.stat()
    assert (pwd.getpwuid(node.st_uid).pw_name, grp.getgrgid(node.st_gid).gr_name) == (
        "nobody",
        "nogroup",
    )
    assert stat.S_IMODE(node.st_mode) == 0o620
    with open(fifo, "w") as writer:
        writer.write("via fifo")
    wait_for(lambda: report_lines(sandbox.path("report")), timeout=30)
    [report] = report_lines(sandbox.path("report"))
    assert report["message"] == "via fifo" and report["fds"] == [{"fd": 3, "kind": "fifo"}]
    stop(run)


def unit_names(run: InitRun) -> list[str]:
    return [line.split()[0] for line in ctl(run, "list-units").stdout.splitlines() if line]


def instances(run: InitRun) -> list[str]:
    return [name for name in unit_names(run) if name.startswith("echo@")]


def test_accept_yes_instances_and_max_connections(sandbox: Sandbox) -> None:
    port = free_port()
    sandbox.unit(
        "echo.socket", f"[Socket]\nListenStream=127.0.0.1:{port}\nAccept=yes\nMaxConnections=2\n"
    )
    sandbox.unit(
        "echo@.service",
        "[Service]\nStandardInput=socket\n"
        "ExecStart=/bin/sh -c 'read line; echo \"$line to %i fds=$LISTEN_FDS "
        'names=$LISTEN_FDNAMES pid=$LISTEN_PID self=$$$$"; '
        "test -S /proc/self/fd/3 || test -e /proc/self/fd/3 && echo fd3'\n",
    )
    run = sandbox.start("-v", "--start=echo.socket")
    wait_for(lambda: ctl(run, "is-active", "echo.socket").returncode == 0, timeout=30)
    held = []
    for _ in range(2):
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        held.append(client)
    # Both instances run (they wait for a line); a third is refused.
    wait_for(lambda: len(instances(run)) == 2, timeout=30)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as third:
        assert third.recv(100) == b"", "closed at once beyond MaxConnections="
    answers = []
    for client in held:
        local = client.getsockname()
        client.sendall(b"hi\n")
        data = b""
        while chunk := client.recv(4096):
            data += chunk
        client.close()
        answers.append((local, data.decode()))
    for number, (local, text) in enumerate(answers):
        line, fd3 = text.splitlines()
        instance = f"{number}-127.0.0.1:{port}-127.0.0.1:{local[1]}"
        words = line.split()
        assert words[:3] == ["hi", "to", instance], text
        assert words[3:5] == ["fds=1", "names=connection"]
        assert words[5].removeprefix("pid=") == words[6].removeprefix("self="), text
        assert fd3 == "fd3"
    # The ended instances are gone and their connections closed: room again.
    # A refused connection numbers no instance (systemd counts accepted ones).
    wait_for(lambda: not instances(run), timeout=30)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as fourth:
        fourth.sendall(b"again\n")
        assert fourth.makefile().readline().startswith(f"again to 2-127.0.0.1:{port}-")
    err = stop(run)
    assert "echo.socket: too many connections (2), refusing the connection" in err


def test_stop_closes_the_listener_and_remove_on_stop(sandbox: Sandbox) -> None:
    kept, removed = sandbox.path("kept.sock"), sandbox.path("removed.sock")
    sandbox.unit("kept.socket", f"[Socket]\nListenStream={kept}\n")
    sandbox.unit("removed.socket", f"[Socket]\nListenStream={removed}\nRemoveOnStop=yes\n")
    for name in ("kept", "removed"):
        sandbox.unit(f"{name}.service", "[Service]\nExecStart=/bin/true\n")
    run = sandbox.start("--start=kept.socket", "--start=removed.socket")
    wait_for(lambda: kept.exists() and removed.exists(), timeout=30)
    for name in ("kept.socket", "removed.socket"):
        assert ctl(run, "stop", name).returncode == 0
        assert ctl(run, "is-active", name).stdout.strip() == "inactive"
    assert kept.exists() and not removed.exists()
    with socket.socket(socket.AF_UNIX) as client:
        assert client.connect_ex(str(kept)) != 0, "nobody listens after stop"
    assert ctl(run, "start", "kept.socket").returncode == 0
    deadline = time.monotonic() + 30
    with socket.socket(socket.AF_UNIX) as client:
        while client.connect_ex(str(kept)) != 0:
            assert time.monotonic() < deadline, "listening again after start"
            time.sleep(0.05)
    stop(run)


def test_bad_listen_line_is_named_and_the_rest_boots(sandbox: Sandbox) -> None:
    port = free_port()
    sandbox.unit("half.socket", f"[Socket]\nListenStream=nonsense\nListenStream=127.0.0.1:{port}\n")
    sandbox.unit("half.service", "[Service]\nExecStart=/bin/true\n")
    run = sandbox.start("--start=half.socket")
    wait_for(lambda: ctl(run, "is-active", "half.socket").returncode == 0, timeout=30)
    err = stop(run)
    assert f"{sandbox.units / 'half.socket'}:2: ListenStream=nonsense" in err


def test_restarted_service_gets_the_descriptors_again(sandbox: Sandbox) -> None:
    path = sandbox.path("again.sock")
    sandbox.unit("again.socket", f"[Socket]\nListenStream={path}\n")
    sandbox.unit(
        "again.service",
        f"[Service]\nExecStart={sys.executable} {SERVER} {sandbox.path('report')}\n"
        "Restart=always\nRestartSec=0.1\n",
    )
    run = sandbox.start("--start=again.socket")
    wait_for(lambda: ctl(run, "is-active", "again.socket").returncode == 0, timeout=30)
    first = json.loads(connect_and_read(str(path), socket.AF_UNIX))
    # The server exits after one answer; Restart=always starts it again
    # (not the socket): it still gets the listening socket as fd 3.
    wait_for(
        lambda: (
            ctl(run, "show", "again.service", "-p", "NRestarts").stdout.strip()
            not in ("", "NRestarts=0")
        ),
        timeout=30,
    )
    second = json.loads(connect_and_read(str(path), socket.AF_UNIX))
    assert second["pid"] != first["pid"]
    assert second["LISTEN_FDS"] == "1" and second["LISTEN_PID"] == str(second["pid"])
    assert second["fds"][0]["address"] == str(path)
    stop(run)


def test_max_connections_per_source(sandbox: Sandbox) -> None:
    port = free_port()
    sandbox.unit(
        "one.socket",
        f"[Socket]\nListenStream=127.0.0.1:{port}\nAccept=yes\nMaxConnectionsPerSource=1\n",
    )
    sandbox.unit("one@.service", "[Service]\nStandardInput=socket\nExecStart=/bin/sh -c 'read x'\n")
    run = sandbox.start("--start=one.socket")
    wait_for(lambda: ctl(run, "is-active", "one.socket").returncode == 0, timeout=30)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as first:
        wait_for(lambda: any(n.startswith("one@0-") for n in unit_names(run)), timeout=30)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as second:
            assert second.recv(100) == b"", "a second connection from 127.0.0.1 is refused"
        first.sendall(b"bye\n")
    err = stop(run)
    assert "one.socket: too many connections from this source (1 from 127.0.0.1)" in err


def test_ipv6_and_sequential_packet(sandbox: Sandbox) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    port = free_port()
    seq = sandbox.path("seq.sock")
    sandbox.unit(
        "six.socket", f"[Socket]\nListenStream=[::1]:{port}\nListenSequentialPacket={seq}\n"
    )
    sandbox.unit(
        "six.service",
        f"[Service]\nExecStart={sys.executable} {SERVER} {sandbox.path('report')}\n",
    )
    run = sandbox.start("--start=six.socket")
    wait_for(lambda: ctl(run, "is-active", "six.socket").returncode == 0, timeout=30)
    answer = json.loads(connect_and_read(("::1", port), socket.AF_INET6))
    assert [(d["family"], d["type"]) for d in answer["fds"]] == [
        ("AF_INET6", "SOCK_STREAM"),
        ("AF_UNIX", "SOCK_SEQPACKET"),
    ]
    assert answer["fds"][0]["address"][:2] == ["::1", port]
    stop(run)
