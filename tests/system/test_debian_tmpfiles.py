"""Debian 12's mariadb, haproxy and php8.2-fpm units, unmodified, under
guestinit as PID 1 with a fresh tmpfs on /run: their runtime directories
(/run/mysqld, /run/haproxy, /run/php) come only from their packages'
/usr/lib/tmpfiles.d files, which guestinit applies at boot.

The namespace sees only those packages' tmpfiles.d files (bound over
/usr/lib/tmpfiles.d, an empty /etc/tmpfiles.d): this machine's own systemd
configuration ("D /tmp" ...) is never applied to it. ``systemd-tmpfiles`` on
PATH is guestinit's (a launcher of that name first on PATH), except in the test
that runs the machine's real one.
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.integration.initrun import InitRun, launcher
from tests.sandbox import Sandbox, ctl, free_port, wait_for

UNITS = Path("/lib/systemd/system")
TMPFILES_D = Path("/usr/lib/tmpfiles.d")


def needs(*names: str) -> pytest.MarkDecorator:
    missing = [n for n in names if not (UNITS / n).exists()]
    return pytest.mark.skipif(bool(missing), reason=f"Debian units missing: {missing}")


def tmpfiles_only(sandbox: Sandbox, *configs: str, ours: bool = True) -> dict[str, str]:
    """Only ``configs`` of this machine's tmpfiles.d in the namespace; the
    environment that turns tmpfiles on (and puts ours first on PATH)."""
    folder = sandbox.path("tmpfiles.d")
    folder.mkdir()
    for name in configs:
        shutil.copy(TMPFILES_D / name, folder / name)
    empty = sandbox.path("etc-tmpfiles.d")
    empty.mkdir()
    sandbox.bind(folder, str(TMPFILES_D))
    sandbox.bind(empty, "/etc/tmpfiles.d")
    env = {"GUESTINIT_TMPFILES": "on"}
    if ours:
        bin_dir = sandbox.path("bin")
        launcher(bin_dir, "systemd-tmpfiles")
        env["PATH"] = f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    return env


def wait_active(run: InitRun, unit: str, timeout: float = 120.0) -> None:
    def settled() -> bool:
        state = ctl(run, "is-active", unit).stdout.strip()
        assert state != "failed", run_log(run, unit)
        return state == "active"

    wait_for(settled, timeout=timeout, interval=0.3)


def run_log(run: InitRun, unit: str) -> str:
    return ctl(run, "status", unit).stdout + ctl(run, "status", "systemd-tmpfiles-setup").stdout


def in_namespace(run: InitRun, path: str) -> Path:
    """``path`` as the run's mount namespace sees it."""
    return Path(f"/proc/{run.init_pid()}/root{path}")


def stop(run: InitRun) -> None:
    run.signal(signal.SIGTERM)
    assert run.wait(timeout=60) == 0, run.stderr.decode()


@needs("mariadb.service")
def test_mariadb_starts_with_its_tmpfiles_directory_and_answers(sandbox: Sandbox) -> None:
    env = tmpfiles_only(sandbox, "mariadb.conf")
    data = sandbox.path("mysql")
    subprocess.run(["cp", "-a", "/var/lib/mysql", str(data)], check=True)
    sandbox.bind(data, "/var/lib/mysql")
    conf_d = sandbox.path("mariadb.conf.d")
    shutil.copytree("/etc/mysql/mariadb.conf.d", conf_d)
    # The machine's network namespace is shared: the unix socket only.
    (conf_d / "99-guestinit-test.cnf").write_text("[mysqld]\nskip-networking\n")
    sandbox.bind(conf_d, "/etc/mysql/mariadb.conf.d")
    run = sandbox.start("-v", "--start", "mariadb.service", unit_path=False, env=env)
    wait_active(run, "mariadb.service")
    run_dir = in_namespace(run, "/run/mysqld")
    assert run_dir.stat().st_uid == int(_id("mysql")) and oct(run_dir.stat().st_mode)[-4:] == "0755"
    enter = ["nsenter", "-t", str(run.init_pid()), "-m", "--"]
    query = subprocess.run(
        [*enter, "mariadb", "--socket=/run/mysqld/mysqld.sock", "-N", "-e", "select 6*7"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert query.stdout.strip() == "42", query.stderr
    assert ctl(run, "is-active", "systemd-tmpfiles-setup.service").stdout.strip() == "active"
    stop(run)


def _haproxy_config(sandbox: Sandbox, port: int) -> None:
    """Debian's own haproxy.cfg (its stats socket lives in /run/haproxy) plus
    one frontend on a loopback port."""
    config = sandbox.path("haproxy.cfg")
    text = Path("/etc/haproxy/haproxy.cfg").read_text()
    text += (
        f"\nfrontend guestinit_test\n    bind 127.0.0.1:{port}\n"
        "    http-request return status 200 content-type text/plain string tmpfiles-ok\n"
    )
    config.write_text(text)
    sandbox.bind(config, "/etc/haproxy/haproxy.cfg")


@needs("haproxy.service")
def test_haproxy_starts_with_its_tmpfiles_directory_and_answers(sandbox: Sandbox) -> None:
    port = free_port()
    _haproxy_config(sandbox, port)
    env = tmpfiles_only(sandbox, "haproxy.conf")
    run = sandbox.start("-v", "--start", "haproxy.service", unit_path=False, env=env)
    wait_active(run, "haproxy.service")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=20) as answer:
        assert answer.status == 200 and answer.read() == b"tmpfiles-ok"
    run_dir = in_namespace(run, "/run/haproxy")
    assert oct(run_dir.stat().st_mode)[-4:] == "2775"
    assert (run_dir / "admin.sock").is_socket()
    stop(run)


@needs("haproxy.service")
def test_haproxy_fails_without_tmpfiles(sandbox: Sandbox) -> None:
    """The reason for all this: with tmpfiles off, /run/haproxy is missing."""
    port = free_port()
    _haproxy_config(sandbox, port)
    env = tmpfiles_only(sandbox, "haproxy.conf")
    env["GUESTINIT_TMPFILES"] = "off"
    run = sandbox.start("--start", "haproxy.service", unit_path=False, env=env)
    wait_for(lambda: ctl(run, "is-failed", "haproxy.service").returncode == 0, timeout=60)
    assert not in_namespace(run, "/run/haproxy").exists()
    stop(run)


@needs("php8.2-fpm.service")
def test_php_fpm_starts_with_its_tmpfiles_directory_and_answers(sandbox: Sandbox) -> None:
    env = tmpfiles_only(sandbox, "php8.2-fpm.conf")
    logs = sandbox.path("var-log")  # php-fpm's error_log is /var/log/php8.2-fpm.log
    logs.mkdir()
    sandbox.bind(logs, "/var/log")
    run = sandbox.start("-v", "--start", "php8.2-fpm.service", unit_path=False, env=env)
    wait_active(run, "php8.2-fpm.service")
    sock = in_namespace(run, "/run/php/php8.2-fpm.sock")
    assert fastcgi_get_values(str(sock))["FCGI_MPXS_CONNS"] == "0"
    # ExecStartPost's socket helper made the generic name (through alternatives).
    assert (
        os.readlink(in_namespace(run, "/run/php/php-fpm.sock")) == "/etc/alternatives/php-fpm.sock"
    )
    stop(run)


@needs("haproxy.service")
@pytest.mark.skipif(
    not Path("/usr/bin/systemd-tmpfiles").exists(), reason="no real systemd-tmpfiles here"
)
def test_the_real_systemd_tmpfiles_is_used_where_installed(sandbox: Sandbox) -> None:
    port = free_port()
    _haproxy_config(sandbox, port)
    env = tmpfiles_only(sandbox, "haproxy.conf", ours=False)
    run = sandbox.start("-v", "--start", "haproxy.service", unit_path=False, env=env)
    wait_active(run, "haproxy.service")
    status = ctl(run, "status", "systemd-tmpfiles-setup.service").stdout
    assert "active (exited)" in status, status
    assert oct(in_namespace(run, "/run/haproxy").stat().st_mode)[-4:] == "2775"
    stop(run)


def fastcgi_get_values(path: str) -> dict[str, str]:
    """A FastCGI management record (FCGI_GET_VALUES): php-fpm answers it
    without running any PHP, so it shows the pool is up and listening."""
    names = b"".join(bytes([len(n), 0]) + n for n in (b"FCGI_MPXS_CONNS",))
    record = struct.pack(">BBHHBx", 1, 9, 0, len(names), 0) + names
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(20)
        client.connect(path)
        client.sendall(record)
        header = _read_exactly(client, 8)
        version, kind, _, length, padding = struct.unpack(">BBHHBx", header)
        body = _read_exactly(client, length + padding)[:length]
    assert (version, kind) == (1, 10), header  # FCGI_GET_VALUES_RESULT
    values: dict[str, str] = {}
    at = 0
    while at < len(body):
        name_len, value_len = body[at], body[at + 1]
        name = body[at + 2 : at + 2 + name_len].decode()
        values[name] = body[at + 2 + name_len : at + 2 + name_len + value_len].decode()
        at += 2 + name_len + value_len
    return values


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("php-fpm closed the connection")
        data += chunk
    return data


def _id(user: str) -> str:
    import pwd

    return str(pwd.getpwnam(user).pw_uid)


def test_a_package_installed_into_a_running_container(sandbox: Sandbox) -> None:
    """A maintainer script's `systemd-tmpfiles --create NAME.conf`, and
    `systemctl daemon-reload` when the script found no systemd-tmpfiles."""
    env = tmpfiles_only(sandbox)
    run = sandbox.start("--start", "systemd-tmpfiles-setup.service", unit_path=False, env=env)
    wait_active(run, "systemd-tmpfiles-setup.service")
    added = sandbox.path("tmpfiles.d")
    (added / "by-postinst.conf").write_text("d /run/by-postinst 0750 - -\n")
    enter = ["nsenter", "-t", str(run.init_pid()), "-m", "--"]
    script = subprocess.run(
        [*enter, "systemd-tmpfiles", "--create", "by-postinst.conf"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert script.returncode == 0, script.stderr
    assert oct(in_namespace(run, "/run/by-postinst").stat().st_mode)[-4:] == "0750"
    (added / "by-reload.conf").write_text("d /run/by-reload 0700 - -\nr! /run/by-postinst\n")
    assert ctl(run, "daemon-reload").returncode == 0
    wait_for(in_namespace(run, "/run/by-reload").exists, timeout=30)
    assert in_namespace(run, "/run/by-postinst").exists()  # "!" lines: only at boot
    stop(run)
