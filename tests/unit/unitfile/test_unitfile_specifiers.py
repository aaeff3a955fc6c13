"""Specifiers (systemd.unit(5)) against a context passed in."""

import pytest

from guestinit.unitfile import SpecifierContext, SpecifierError, parse_unit_name
from guestinit.unitfile import resolve_specifiers as resolve
from guestinit.unitfile._names import unescape, unescape_path

CTX = SpecifierContext(
    hostname="web1.example.com",
    machine_id="m" * 32,
    boot_id="b" * 32,
    kernel_release="6.1.0",
    architecture="x86-64",
    user_name="root",
    home="/root",
)
INSTANCE = parse_unit_name("getty-vt@dev-tty\\x2d1.service")
PLAIN = parse_unit_name("foo-bar-baz.service")


@pytest.mark.parametrize(
    ("spec", "instance_value", "plain_value"),
    [
        ("%n", "getty-vt@dev-tty\\x2d1.service", "foo-bar-baz.service"),
        ("%N", "getty-vt@dev-tty\\x2d1", "foo-bar-baz"),
        ("%p", "getty-vt", "foo-bar-baz"),
        ("%P", "getty/vt", "foo/bar/baz"),
        ("%i", "dev-tty\\x2d1", ""),
        ("%I", "dev/tty-1", ""),
        ("%j", "vt", "baz"),
        ("%J", "vt", "baz"),
        ("%f", "/dev/tty-1", "/foo/bar/baz"),
    ],
)
def test_name_specifiers(spec: str, instance_value: str, plain_value: str) -> None:
    assert resolve(spec, INSTANCE, CTX) == instance_value
    assert resolve(spec, PLAIN, CTX) == plain_value


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ("%t", "/run"),
        ("%S", "/var/lib"),
        ("%C", "/var/cache"),
        ("%L", "/var/log"),
        ("%E", "/etc"),
        ("%T", "/tmp"),
        ("%V", "/var/tmp"),
        ("%h", "/root"),
        ("%u", "root"),
        ("%U", "0"),
        ("%g", "root"),
        ("%G", "0"),
        ("%H", "web1.example.com"),
        ("%l", "web1"),
        ("%q", "web1"),
        ("%m", "m" * 32),
        ("%b", "b" * 32),
        ("%v", "6.1.0"),
        ("%a", "x86-64"),
        ("%%", "%"),
    ],
)
def test_host_specifiers(spec: str, value: str) -> None:
    assert resolve(spec, PLAIN, CTX) == value


def test_unit_file_path_specifiers() -> None:
    assert resolve("%y|%Y", PLAIN, CTX, "/etc/systemd/system/foo.service") == (
        "/etc/systemd/system/foo.service|/etc/systemd/system"
    )


def test_mixed_text() -> None:
    assert resolve("%t/%p.pid 100%%", PLAIN, CTX) == "/run/foo-bar-baz.pid 100%"


@pytest.mark.parametrize("text", ["%z", "abc%", "%"])
def test_unknown_or_trailing_is_an_error(text: str) -> None:
    with pytest.raises(SpecifierError):
        resolve(text, PLAIN, CTX)


def test_unescape() -> None:
    assert unescape("dev-disk-by\\x2duuid") == "dev/disk/by-uuid"
    assert unescape_path("-") == "/"
    assert unescape_path("home-user") == "/home/user"


def test_unit_names() -> None:
    name = parse_unit_name("foo@bar.service")
    assert (name.prefix, name.instance, name.template) == ("foo", "bar", "foo@.service")
    template = parse_unit_name("foo@.service")
    assert template.is_template
    assert template.with_instance("x").name == "foo@x.service"
    for bad in ["foo", "foo.bogus", "@x.service", "a b.service", "a@b@c.service", ".service"]:
        with pytest.raises(ValueError):
            parse_unit_name(bad)
