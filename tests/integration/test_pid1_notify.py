"""sd_notify to the parent: READY=1, STOPPING=1, EXIT_STATUS=, abstract addresses."""

import os
import socket
from pathlib import Path

import pytest

from tests.integration.conftest import InitFactory


def _receive_all(server: socket.socket) -> list[str]:
    messages = []
    server.settimeout(2)
    while True:
        try:
            messages.append(server.recv(4096).decode())
        except TimeoutError:
            return messages


@pytest.mark.parametrize("abstract", [False, True])
def test_parent_gets_ready_stopping_and_exit_status(
    init: InitFactory, tmp_path: Path, abstract: bool
) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"guestinit-test-{os.getpid()}"
        server.bind("\0" + name)
        address = "@" + name
    else:
        address = str(tmp_path / "notify.sock")
        server.bind(address)
    with server:
        run = init(
            "--",
            "sh",
            "-c",
            'echo "${NOTIFY_SOCKET:-unset}"; exit 4',
            env={"NOTIFY_SOCKET": address},
        )
        assert run.wait() == 4
        assert run.stdout == b"unset\n", "NOTIFY_SOCKET is ours, not the main process's"
        assert _receive_all(server) == ["READY=1", "STOPPING=1", "EXIT_STATUS=4"]


def test_unreachable_notify_socket_is_a_warning_not_a_failure(init: InitFactory) -> None:
    run = init("--", "true", env={"NOTIFY_SOCKET": "/nonexistent/notify.sock"})
    assert run.wait() == 0
    assert b"cannot notify" in run.stderr
