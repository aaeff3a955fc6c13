"""Debian's socket units under guestinit, unmodified.

ssh.socket runs in a network namespace of the sandbox's own, where port 22
(as the unit says) is free:
- Debian 12's ssh.socket (Accept=no) with its ssh.service: guestinit listens
  on port 22, the first connection starts ssh.service, which gets the socket
  through LISTEN_FDS (Debian's sshd reads it) and answers the login.
- Debian 11's ssh.socket (Accept=yes) with ssh@.service: each connection
  runs ``sshd -i`` with the connection as stdin/stdout, as
  ``ssh@N-LOCAL:22-REMOTE:PORT.service``.
uuid-runtime's uuidd.socket (Accept=no, a unix socket in /run/uuidd) starts
uuidd as its own user on the first request."""

import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.initrun import InitRun
from tests.sandbox import Sandbox, children_named, ctl, wait_for
from tests.system.test_debian_ssh import ssh_sandbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "units"

pytestmark = pytest.mark.skipif(
    not (
        shutil.which("sshd")
        and shutil.which("ssh")
        and Path("/lib/systemd/system/ssh.socket").exists()
    ),
    reason="openssh-server and openssh-client from Debian are needed",
)


def sshd_on_port_22(sandbox: Sandbox) -> Path:
    """Our /etc/ssh (host key, client key), sshd's own port left at 22."""
    _port, key = ssh_sandbox(sandbox)
    config = sandbox.path("etc-ssh") / "sshd_config"
    lines = config.read_text().splitlines()
    kept = [line for line in lines if not line.startswith(("Port ", "ListenAddress "))]
    config.write_text("\n".join(kept) + "\n")
    sandbox.own_network = True
    sandbox.private_dev = True  # sshd's syslog lines reach guestinit's /dev/log
    return key


def ssh_in_namespace(run: InitRun, key: Path, command: str) -> "subprocess.CompletedProcess[str]":
    options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "BatchMode=yes"]
    options = [f"-o{option}" for option in [*options, "LogLevel=ERROR", "ConnectTimeout=30"]]
    enter = ["nsenter", "-t", str(run.init_pid()), "-n", "--"]
    return subprocess.run(
        [*enter, "ssh", "-i", str(key), *options, "root@127.0.0.1", command],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def socket_inodes(pid: int) -> set[str]:
    links = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.add(os.readlink(fd))
        except OSError:
            continue  # closed while we looked
    return {link for link in links if link.startswith("socket:")}


def active(run: InitRun, name: str) -> str:
    return ctl(run, "is-active", name).stdout.strip()


def test_debian12_ssh_socket_starts_ssh_service_on_first_connection(sandbox: Sandbox) -> None:
    key = sshd_on_port_22(sandbox)
    run = sandbox.start("-v", "--start", "ssh.socket", unit_path=False, syslog="/dev/log")
    wait_for(lambda: active(run, "ssh.socket") == "active", timeout=30)
    assert active(run, "ssh.service") == "inactive", "nothing runs before a connection"
    login = ssh_in_namespace(run, key, "echo logged in as $(id -un); echo $PPID")
    assert login.returncode == 0, login.stderr
    assert login.stdout.splitlines()[0] == "logged in as root"
    assert active(run, "ssh.service") == "active"
    main = ctl(run, "show", "ssh.service", "-p", "MainPID").stdout.strip()
    # sshd listens on the very socket guestinit bound (the same inode), it
    # did not bind one of its own.
    [sshd] = children_named(run.init_pid(), "sshd")
    assert socket_inodes(run.init_pid()) & socket_inodes(sshd.pid)
    # The same sshd answers a second login: it kept the listening socket.
    again = ssh_in_namespace(run, key, "true")
    assert again.returncode == 0, again.stderr
    assert ctl(run, "show", "ssh.service", "-p", "MainPID").stdout.strip() == main
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0
    err = run.stderr.decode()
    assert "ssh.socket: listening on 22 for ssh.service" in err
    assert "ssh.service: started" in err


def test_debian11_ssh_socket_runs_one_sshd_per_connection(sandbox: Sandbox) -> None:
    key = sshd_on_port_22(sandbox)
    paths = ["--unit-path", str(FIXTURES / "debian11"), "--unit-path", str(FIXTURES / "debian")]
    run = sandbox.start("-v", *paths, "--start", "ssh.socket", unit_path=False, syslog="/dev/log")
    wait_for(lambda: active(run, "ssh.socket") == "active", timeout=30)
    login = ssh_in_namespace(run, key, "echo logged in as $(id -un)")
    assert login.returncode == 0, login.stderr
    assert login.stdout.splitlines()[0] == "logged in as root"
    second = ssh_in_namespace(run, key, "true")
    assert second.returncode == 0, second.stderr
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0
    err = run.stderr.decode()
    started = [line for line in err.splitlines() if line.endswith(".service: started")]
    names = [line.split()[1].removesuffix(":") for line in started]
    assert [name.split("-")[0] for name in names] == ["ssh@0", "ssh@1"], err
    for name in names:
        assert ":22-127.0.0.1:" in name or ":22-::1:" in name, name


@pytest.mark.skipif(
    not Path("/lib/systemd/system/uuidd.socket").exists(), reason="uuid-runtime is needed"
)
def test_debian_uuidd_socket_activates_uuidd_on_first_request(sandbox: Sandbox) -> None:
    """uuid-runtime's uuidd.socket + uuidd.service (User=uuidd, Accept=no,
    ``uuidd --socket-activation``): the first request starts the daemon,
    which answers on the socket guestinit made in /run/uuidd."""
    run = sandbox.start("-v", "--start", "uuidd.socket", unit_path=False)
    wait_for(lambda: active(run, "uuidd.socket") == "active", timeout=30)
    assert active(run, "uuidd.service") == "inactive"
    request = subprocess.run(
        ["nsenter", "-t", str(run.init_pid()), "-m", "--", "uuidd", "-t", "-n", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert request.returncode == 0, request.stderr
    # "uuidd -t" asks the daemon (it fails when nobody answers on the socket).
    assert uuid.UUID(request.stdout.split()[0]).version == 1, request.stdout
    assert active(run, "uuidd.service") == "active"
    [uuidd] = children_named(run.init_pid(), "uuidd")
    assert uuidd.username() == "uuidd"
    assert socket_inodes(run.init_pid()) & socket_inodes(uuidd.pid)
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0
