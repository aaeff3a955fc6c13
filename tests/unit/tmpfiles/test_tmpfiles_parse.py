"""tmpfiles.d lines -> typed lines: fields, modifiers, escapes, specifiers, errors."""

from pathlib import Path

import pytest

from guestinit.tmpfiles.parse import Line, LineError, Severity, Type, parse_line, parse_text
from guestinit.unitfile import SpecifierContext

FIXTURES = Path(__file__).parent / "fixtures"
CTX = SpecifierContext(hostname="box.example", machine_id="m" * 32, boot_id="b" * 32, user_id=0)


def one(text: str) -> Line:
    return parse_line(text, "t.conf:1", CTX)[0]


@pytest.mark.parametrize(
    ("name", "path", "mode", "user", "group"),
    [
        ("mariadb.conf", "/run/mysqld", 0o755, "mysql", "root"),
        ("haproxy.conf", "/run/haproxy", 0o2775, "haproxy", "haproxy"),
        ("php8.2-fpm.conf", "/run/php", 0o755, "www-data", "www-data"),
    ],
)
def test_debian_package_files(name: str, path: str, mode: int, user: str, group: str) -> None:
    lines, problems = parse_text((FIXTURES / name).read_text(), name, CTX)
    assert problems == []
    assert [(x.type, x.path, x.mode, x.user, x.group) for x in lines] == [
        (Type.CREATE_DIRECTORY, path, mode, user, group)
    ]


def test_missing_fields_are_dashes_and_the_argument_is_the_rest() -> None:
    line = one('f /etc/motd 0644 - - - hello  "world"\\tend')
    assert (line.user, line.group, line.age) == (None, None, None)
    assert line.content == b'hello  "world"\tend'
    assert one("d /run/x").mode is None


def test_modifiers() -> None:
    line = one("w-! /proc/sys/vm/x - - - - 10")
    assert (line.type, line.boot, line.ignore_failure, line.plus) == (
        Type.WRITE_FILE,
        True,
        True,
        False,
    )
    assert one("f+ /x").type is Type.TRUNCATE_FILE
    assert one("f~ /x - - - - aGk=").content == b"hi"
    assert one("L+ /x - - - - /y").plus


def test_mode_prefixes_and_owner_create_only() -> None:
    line = one("z /x ~0644 :nobody :nogroup")
    assert (line.mode, line.mode_masked, line.owner_create_only) == (0o644, True, True)
    assert one("d /x :0700").mode_create_only


def test_specifiers_in_path_and_argument() -> None:
    line = one("L /run/%m/%l - - - - %H%%")
    assert (line.path, line.argument) == (f"/run/{'m' * 32}/box", "box.example%")
    with pytest.raises(LineError, match="unknown specifier"):
        one("d /run/%n")


def test_quoted_path_and_escapes() -> None:
    assert one('d "/run/with space" 0755').path == "/run/with space"
    assert one("d /run/x\\x41").path == "/run/xA"


def test_var_run_is_rewritten_with_a_warning() -> None:
    line, notes = parse_line("d /var/run/foo", "t.conf:3", CTX)
    assert line.path == "/run/foo"
    assert notes[0].severity is Severity.WARNING and str(notes[0]).startswith("t.conf:3: ")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("y /x", "unknown line type"),
        ("d relative", "not absolute"),
        ("d /x 0999", "invalid mode"),
        ("d+? /x", "bad modifiers"),
        ("c /dev/x 0600 - - - 1-3", "MAJOR:MINOR"),
        ("d /x - - - 3fortnights", "invalid age"),
        ('d "/x', "unbalanced"),
        ("d~ /x", "only go with f"),
    ],
)
def test_bad_lines_name_file_and_line_and_are_skipped(text: str, why: str) -> None:
    lines, problems = parse_text(f"# comment\n\n{text}\nd /ok\n", "bad.conf", CTX)
    assert [x.path for x in lines] == ["/ok"]
    assert len(problems) == 1 and problems[0].origin == "bad.conf:3"
    assert why in problems[0].message


def test_ages_are_parsed_not_acted_on() -> None:
    assert one("d /x - - - 10d12h").age == "10d12h"
    assert one("e /x - - - cmA:~1w").age == "cmA:~1w"


def test_globs_only_for_types_that_take_them() -> None:
    assert one("r /tmp/.X[0-9]*-lock").is_glob
    assert not one("d /tmp/a*").is_glob
