"""/etc/guestinit/network: the documented format and its errors."""

import pytest

from guestinit.boot.cmdline import parse_ip
from guestinit.boot.netconfig import (
    FIRST_ETHERNET,
    InterfacePlan,
    NetworkConfigError,
    from_ip_argument,
    parse,
    resolv_conf,
)


def test_dhcp_and_static_sections() -> None:
    text = """
# comment
[*]
dhcp = yes

[eth1]
address = 192.168.5.2/24   # inline comment
address = 192.168.6.2/24
gateway = 192.168.5.1
dns = 192.168.5.1
dns = 2001:db8::1
search = example.org lab.example.org
mtu = 9000
wait = 2.5
"""
    assert parse(text) == [
        InterfacePlan(name=FIRST_ETHERNET, dhcp=True),
        InterfacePlan(
            name="eth1",
            addresses=("192.168.5.2/24", "192.168.6.2/24"),
            gateway="192.168.5.1",
            dns=("192.168.5.1", "2001:db8::1"),
            search=("example.org", "lab.example.org"),
            mtu=9000,
            wait=2.5,
        ),
    ]


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("dhcp = yes\n", ":1:", "outside"),
        ("[eth0\n", ":1:", "section header"),
        ("[eth0]\nfoo = 1\n", ":2:", "unknown key"),
        ("[eth0]\ndhcp = maybe\n", ":2:", "yes or no"),
        ("[eth0]\naddress = 10.0.0.1\n", ":2:", "prefix length"),
        ("[eth0]\naddress = 10.0.0.300/24\n", ":2:", "10.0.0.300"),
        ("[eth0]\naddress = 10.0.0.1/24\nmtu = 20\n", ":3:", "mtu"),
        ("[eth0]\naddress 10.0.0.1/24\n", ":2:", "key = value"),
        ("[eth0]\n", ":1:", "neither"),
        ("[eth0]\ndhcp = yes\naddress = 10.0.0.1/24\n", ":1:", "exclude"),
        ("[eth0]\ndhcp = yes\ngateway = 10.0.0.1\n", ":1:", "lease"),
        ("[eth0]\ndhcp = yes\n[eth0]\ndhcp = no\n", ":3:", "twice"),
    ],
)
def test_errors_name_file_and_line(text: str, where: str, what: str) -> None:
    with pytest.raises(NetworkConfigError) as raised:
        parse(text, "/etc/guestinit/network")
    assert f"/etc/guestinit/network{where}" in str(raised.value)
    assert what in str(raised.value)


def test_ip_argument_becomes_a_plan() -> None:
    argument = parse_ip("10.0.2.15::10.0.2.2:24::eth0:off:10.0.2.3")
    assert argument is not None
    assert from_ip_argument(argument) == InterfacePlan(
        name="eth0", addresses=("10.0.2.15/24",), gateway="10.0.2.2", dns=("10.0.2.3",)
    )
    dhcp = parse_ip("dhcp")
    assert dhcp is not None and from_ip_argument(dhcp) == InterfacePlan(FIRST_ETHERNET, dhcp=True)


def test_resolv_conf() -> None:
    plans = [
        InterfacePlan("a", addresses=("10.0.0.2/24",), dns=("10.0.0.1",), search=("x.org",)),
        InterfacePlan("b", addresses=("10.1.0.2/24",), dns=("10.0.0.1", "10.1.0.1")),
    ]
    text = resolv_conf(plans)
    assert text is not None
    assert text.splitlines()[1:] == ["search x.org", "nameserver 10.0.0.1", "nameserver 10.1.0.1"]
    assert resolv_conf([InterfacePlan("a", dhcp=True)]) is None
