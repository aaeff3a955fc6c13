"""The network helper for real, in a network namespace of our own: static
addresses, default route, MTU and resolv.conf from /etc/guestinit/network or
``ip=``, an interface that appears late, loopback by ioctl. Each namespace is
deleted afterwards, whatever happened."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).parent
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


def add_link(netns: str, name: str) -> None:
    """A veth pair with its peer up (this kernel has no dummy module)."""
    ip("-n", netns, "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
    ip("-n", netns, "link", "set", f"{name}p", "up")


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"gi-boot-{os.getpid()}-{os.urandom(2).hex()}"
    ip("netns", "add", name)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def helper(
    netns: str, tmp_path: Path, config: str | None, cmdline: str = ""
) -> subprocess.Popen[str]:
    if config is not None:
        (tmp_path / "network").write_text(config)
    (tmp_path / "cmdline").write_text(cmdline + "\n")
    (tmp_path / "resolv.conf").write_text("# before\n")
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); "
        "from guestinit.boot.network import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = [
        "ip", "netns", "exec", netns, sys.executable, "-c", code,
        "--config", str(tmp_path / "network"), "--cmdline", str(tmp_path / "cmdline"),
        "--resolv", str(tmp_path / "resolv.conf"), "--online", str(tmp_path / "online"),
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, err


def addresses(netns: str, device: str) -> tuple[list[str], int]:
    (link,) = json.loads(ip("-n", netns, "-j", "addr", "show", "dev", device))
    found = [f"{a['local']}/{a['prefixlen']}" for a in link["addr_info"] if a["family"] == "inet"]
    return found, int(link["mtu"])


def test_static_from_the_config_file(netns: str, tmp_path: Path) -> None:
    add_link(netns, "gi0")
    config = (
        "[gi0]\naddress = 192.0.2.10/24\naddress = 198.51.100.7/25\n"
        "gateway = 192.0.2.1\nmtu = 1400\ndns = 192.0.2.53\nsearch = test.example\n"
    )
    code, err = finish(helper(netns, tmp_path, config))
    assert code == 0, err
    assert addresses(netns, "gi0") == (["192.0.2.10/24", "198.51.100.7/25"], 1400)
    assert "default via 192.0.2.1 dev gi0" in ip("-n", netns, "-4", "route", "show")
    assert (tmp_path / "resolv.conf").read_text().splitlines()[1:] == [
        "search test.example",
        "nameserver 192.0.2.53",
    ]
    assert "gi0: 192.0.2.10/24, 198.51.100.7/25 via 192.0.2.1" in err
    assert (tmp_path / "online").exists() and not (tmp_path / "network-failed").exists()


def test_kernel_ip_argument_wins_over_the_file(netns: str, tmp_path: Path) -> None:
    add_link(netns, "gi0")
    code, err = finish(
        helper(netns, tmp_path, "[gi0]\naddress = 10.9.9.9/8\n",
               "console=ttyS0 ip=203.0.113.5::203.0.113.1:255.255.255.0::gi0:off:203.0.113.53")
    )  # fmt: skip
    assert code == 0, err
    assert addresses(netns, "gi0")[0] == ["203.0.113.5/24"]
    assert "nameserver 203.0.113.53" in (tmp_path / "resolv.conf").read_text()


def test_an_interface_that_appears_late_is_waited_for(netns: str, tmp_path: Path) -> None:
    process = helper(netns, tmp_path, "[late0]\naddress = 192.0.2.20/24\nwait = 20\n")
    time.sleep(1.0)  # the helper is polling for late0 by now
    assert process.poll() is None
    add_link(netns, "late0")
    code, err = finish(process)
    assert code == 0, err
    assert addresses(netns, "late0")[0] == ["192.0.2.20/24"]


def test_a_missing_interface_fails_after_its_wait_and_bad_config_is_named(
    netns: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    code, err = finish(helper(netns, tmp_path, "[nope0]\naddress = 192.0.2.2/24\nwait = 0.5\n"))
    assert code == 1 and "nope0 did not appear within 0.5s" in err
    assert not (tmp_path / "online").exists()
    assert (tmp_path / "network-failed").exists(), "guestinit-wait-online stops waiting"
    assert time.monotonic() - started < 30
    code, err = finish(helper(netns, tmp_path, "[x]\nmtu = 9\n"))
    assert code == 2 and "network:2: mtu" in err
    assert (tmp_path / "resolv.conf").read_text() == "# before\n"


def test_nothing_to_configure_is_online_at_once(netns: str, tmp_path: Path) -> None:
    code, err = finish(helper(netns, tmp_path, "# no interfaces\n"))
    assert code == 0, err
    assert (tmp_path / "online").exists() and not (tmp_path / "network-failed").exists()


def test_loopback_up_by_ioctl(netns: str) -> None:
    assert "UP" not in ip("-n", netns, "-br", "link", "show", "lo").split()[1]
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); "
        "from guestinit.boot import system; system.loopback_up()"
    )
    subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", code], check=True)
    assert (
        ip("-n", netns, "-br", "link", "show", "lo").split()[1] == "UNKNOWN"
    )  # up, no carrier notion
    assert "127.0.0.1/8" in ip("-n", netns, "-4", "addr", "show", "lo")


@pytest.fixture
def server_netns() -> Iterator[str]:
    name = f"gi-dhcpd-{os.getpid()}-{os.urandom(2).hex()}"
    ip("netns", "add", name)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def test_dhcp_lease_with_router_and_name_server(
    netns: str, server_netns: str, tmp_path: Path
) -> None:
    """pyroute2's client against a small server of ours across a veth pair: the
    address, the default route, resolv.conf and the online mark, then SIGTERM."""
    ip("-n", netns, "link", "add", "gi0", "type", "veth", "peer", "name", "gi0s",
       "netns", server_netns)  # fmt: skip
    ip("-n", server_netns, "addr", "add", "192.0.2.1/24", "dev", "gi0s")
    ip("-n", server_netns, "link", "set", "gi0s", "up")
    argv = ["ip", "netns", "exec", server_netns, sys.executable, str(HERE / "dhcp_server.py"),
            "gi0s", "192.0.2.1", "192.0.2.77", "192.0.2.1", "192.0.2.53"]  # fmt: skip
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        client = helper(netns, tmp_path, "[gi0]\ndhcp = yes\nwait = 5\n")
        try:
            deadline = time.monotonic() + 60
            while not (tmp_path / "online").exists():
                assert client.poll() is None, finish(client)
                assert time.monotonic() < deadline, "no lease within 60 s"
                time.sleep(0.1)
            assert addresses(netns, "gi0")[0] == ["192.0.2.77/24"]
            assert "default via 192.0.2.1 dev gi0" in ip("-n", netns, "-4", "route", "show")
            assert "nameserver 192.0.2.53" in (tmp_path / "resolv.conf").read_text()
            # It stays to renew the lease, and ends on SIGTERM, lease kept.
            time.sleep(0.5)
            assert client.poll() is None
            client.terminate()
            code, err = finish(client)
            assert code == 0, err
            assert "gi0: 192.0.2.77/24 from DHCP" in err
            assert addresses(netns, "gi0")[0] == ["192.0.2.77/24"]
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
    finally:
        server.kill()
        server.wait()
