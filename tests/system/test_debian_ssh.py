"""Debian's own ssh.service, unmodified, under guestinit: ExecStartPre,
Type=notify, RuntimeDirectory=, EnvironmentFile=-, KillMode=process."""

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.sandbox import Sandbox, free_port, wait_for_port

pytestmark = pytest.mark.skipif(
    not (
        shutil.which("sshd")
        and shutil.which("ssh")
        and Path("/lib/systemd/system/ssh.service").exists()
    ),
    reason="openssh-server and openssh-client from Debian are needed",
)


def ssh_sandbox(sandbox: Sandbox, host_key: bool = True) -> tuple[int, Path]:
    """An /etc/ssh of our own: a test port on loopback, our client key, and
    our host key (or none, for a unit that makes its own)."""
    etc = sandbox.path("etc-ssh")
    etc.mkdir()
    for name in ("moduli", "ssh_config"):
        if Path("/etc/ssh", name).exists():
            shutil.copy(Path("/etc/ssh", name), etc / name)
    if host_key:
        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
        subprocess.run([*keygen, "-f", str(etc / "ssh_host_ed25519_key")], check=True)
    client = sandbox.path("client_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(client)], check=True)
    authorized = sandbox.path("authorized_keys")
    authorized.write_text(Path(f"{client}.pub").read_text())
    port = free_port()
    (etc / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey /etc/ssh/ssh_host_ed25519_key\n"
        f"AuthorizedKeysFile {authorized}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
    )
    sandbox.bind(etc, "/etc/ssh")
    return port, client


def ssh(port: int, key: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "ssh",
            "-i",
            str(key),
            "-p",
            str(port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "root@127.0.0.1",
            command,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_debian_ssh_service_accepts_a_key_login(sandbox: Sandbox) -> None:
    port, key = ssh_sandbox(sandbox)
    run = sandbox.start("-v", "--start", "ssh.service", unit_path=False)
    wait_for_port(port)
    login = ssh(
        port,
        key,
        "echo logged in as $(id -un); tr '\\0' ' ' < /proc/1/cmdline; echo; ls -d /run/sshd",
    )
    assert login.returncode == 0, login.stderr
    who, pid1, rundir = login.stdout.splitlines()
    assert who == "logged in as root"
    assert "-m guestinit" in pid1, "the login is inside guestinit's PID namespace"
    assert rundir == "/run/sshd", "RuntimeDirectory= was made"
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0
    err = run.stderr.decode()
    assert "ssh.service: ExecStartPre process" in err and "ssh.service: started" in err
