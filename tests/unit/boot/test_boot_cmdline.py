"""The kernel command line and its ip= syntax (nfsroot.rst)."""

import pytest

from guestinit.boot.cmdline import IpArgument, parse_ip, values, words


def test_words_and_quotes() -> None:
    text = 'console=ttyS0 root=/dev/vda rw foo="a b" quiet\n'
    assert words(text) == ["console=ttyS0", "root=/dev/vda", "rw", "foo=a b", "quiet"]
    assert values(text) == {"console": "ttyS0", "root": "/dev/vda", "foo": "a b"}
    assert values("hostname=a hostname=b") == {"hostname": "b"}
    assert words('x="" y') == ["x=", "y"]


@pytest.mark.parametrize("word", ["dhcp", "on", "any", ""])
def test_autoconf_words(word: str) -> None:
    assert parse_ip(word) == IpArgument(dhcp=True)


@pytest.mark.parametrize("word", ["off", "none"])
def test_off(word: str) -> None:
    assert parse_ip(word) is None


def test_static_full() -> None:
    got = parse_ip("10.0.2.15::10.0.2.2:255.255.255.0:guest:eth0:off:10.0.2.3:1.1.1.1")
    assert got == IpArgument(
        dhcp=False,
        device="eth0",
        address="10.0.2.15/24",
        gateway="10.0.2.2",
        hostname="guest",
        dns=("10.0.2.3", "1.1.1.1"),
    )


def test_prefix_length_netmask_and_trailing_fields_left_out() -> None:
    assert parse_ip("192.168.7.2::192.168.7.1:20") == IpArgument(
        dhcp=False, address="192.168.7.2/20", gateway="192.168.7.1"
    )


def test_no_netmask_takes_the_address_class() -> None:
    assert parse_ip("10.1.2.3").address == "10.1.2.3/8"  # type: ignore[union-attr]
    assert parse_ip("172.16.0.9").address == "172.16.0.9/16"  # type: ignore[union-attr]
    assert parse_ip("192.168.1.9").address == "192.168.1.9/24"  # type: ignore[union-attr]


def test_dhcp_on_a_named_device() -> None:
    assert parse_ip(":::::eth1:dhcp") == IpArgument(dhcp=True, device="eth1")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("10.0.2.300", "client-ip"),
        ("10.0.2.15::gw:24", "gateway"),
        ("10.0.2.15:::255.0.255.0", "netmask"),
        ("10.0.2.15::::::magic", "autoconf"),
        ("10.0.2.15:::24::::nine", "dns"),
        (":::::eth0:off", "neither"),
    ],
)
def test_bad_fields_are_named(text: str, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        parse_ip(text)
