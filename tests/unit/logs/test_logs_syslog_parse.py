"""syslog datagrams -> SyslogMessage: captured ones, hand-made edge cases, fuzz."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guestinit.logs.syslog_parse import Facility, Severity, SyslogMessage, parse_syslog
from tests.unit.logs.syslog_capture import LOGGER, handler_datagram, logger_datagram

FIXTURES = Path(__file__).parents[2] / "fixtures" / "syslog"
# Just after the fixtures were captured.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CAPTURED_AT = datetime(2026, 11, 22, 11, 13, 20, tzinfo=UTC)


def fields(msg: SyslogMessage) -> dict[str, Any]:
    return {
        "facility": msg.facility,
        "severity": msg.severity,
        "hostname": msg.hostname,
        "ident": msg.ident,
        "pid": msg.pid,
        "msgid": msg.msgid,
        "text": msg.text,
    }


def want(
    text: str,
    *,
    facility: Facility = Facility.USER,
    severity: Severity = Severity.NOTICE,
    hostname: str | None = None,
    ident: str | None = None,
    pid: int | None = None,
    msgid: str | None = None,
) -> dict[str, Any]:
    return {
        "facility": facility,
        "severity": severity,
        "hostname": hostname,
        "ident": ident,
        "pid": pid,
        "msgid": msgid,
        "text": text,
    }


CAPTURED: dict[str, tuple[dict[str, Any], datetime]] = {
    "logger_local": (want("hello world", ident="root"), CAPTURED_AT),
    "logger_local_pid_prio": (
        want(
            "with pid",
            facility=Facility.LOCAL3,
            severity=Severity.WARNING,
            ident="myapp",
            pid=27542,
        ),
        CAPTURED_AT,
    ),
    "logger_auth_crit": (
        want(
            "Accepted publickey for root",
            facility=Facility.AUTH,
            severity=Severity.CRIT,
            ident="sshd",
            pid=4242,
        ),
        CAPTURED_AT,
    ),
    "logger_rfc3164": (want("rfc3164 msg", hostname="vm", ident="tag"), CAPTURED_AT),
    "logger_rfc5424": (
        want("rfc5424 msg", hostname="vm", ident="app", pid=27545, msgid="ID47"),
        CAPTURED_AT.replace(microsecond=833031),
    ),
    "logger_rfc5424_sd": (
        want("sd msg", hostname="vm", ident="root"),
        CAPTURED_AT.replace(microsecond=850110),
    ),
    "logger_rfc5424_nil": (want("short", ident="x"), NOW),
    "logger_rfc5424_utf8": (
        want("h\u00e9llo w\u00f6rld \u2713", hostname="vm", ident="uni"),
        CAPTURED_AT.replace(microsecond=857762),
    ),
    "logger_octet_count": (want("octet counted", ident="oc"), CAPTURED_AT),
    "python_handler": (want("python warning 1", severity=Severity.WARNING), NOW),
    "python_handler_ident": (
        want(
            "python error", facility=Facility.DAEMON, severity=Severity.ERR, ident="pyapp", pid=77
        ),
        NOW,
    ),
}


def test_every_fixture_has_expectations() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.dgram")) == sorted(CAPTURED)


@pytest.mark.parametrize("name", sorted(CAPTURED))
def test_captured_datagrams(name: str) -> None:
    expected, stamp = CAPTURED[name]
    msg = parse_syslog((FIXTURES / f"{name}.dgram").read_bytes(), NOW)
    assert fields(msg) == expected
    assert msg.timestamp == stamp


@pytest.mark.parametrize(
    ("datagram", "expected"),
    [
        # glibc syslog(3): no hostname; the day is space-padded.
        (
            b"<30>Nov  2 03:04:05 cron[12]: (root) CMD (true)\n",
            want(
                "(root) CMD (true)",
                facility=Facility.DAEMON,
                severity=Severity.INFO,
                ident="cron",
                pid=12,
            ),
        ),
        (
            b"<13>Nov 22 11:11:47 host.example.org su: done",
            want("done", hostname="host.example.org", ident="su"),
        ),
        # No tag: the first word is text, not a host.
        (b"<13>Nov 22 11:11:47 just some words", want("just some words")),
        (b"<13>Nov 22 11:11:47 link http://x.org/ is down", want("link http://x.org/ is down")),
        (b"<13>Nov 22 11:11:47 http://x.org/ is down", want("http://x.org/ is down")),
        (b"<13>Nov 22 11:11:47 app[notapid]: text", want("text", ident="app")),
        (b"<13>Nov 22 11:11:47 app[]: text", want("text", ident="app")),
        (b"<13>Nov 22 11:11:47 app:", want("", ident="app")),
        # Missing PRI: user.notice.
        (b"plain text", want("plain text")),
        (b"Nov 22 11:11:47 app: no pri", want("no pri", ident="app")),
        (b"<999>too big", want("<999>too big")),
        (b"<x>not a number", want("<x>not a number")),
        (b"<191>max", want("max", facility=Facility.LOCAL7, severity=Severity.DEBUG)),
        (b"<0>kernel", want("kernel", facility=Facility.KERN, severity=Severity.EMERG)),
        # Invalid UTF-8 is replaced, trailing newlines and NULs go.
        (
            b"<14>bad \xff\xfe bytes\r\n\x00\x00",
            want("bad \ufffd\ufffd bytes", severity=Severity.INFO),
        ),
        (b"<14>line one\nline two\n", want("line one\nline two", severity=Severity.INFO)),
        (b"", want("")),
        (b"\x00\n", want("")),
        # RFC 5424 corners: BOM, NILVALUEs, escaped quote and bracket in SD, no MSG.
        (
            b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
            b'[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] '
            b"\xef\xbb\xbfAn application event log entry...",
            want(
                "An application event log entry...",
                facility=Facility.LOCAL4,
                severity=Severity.NOTICE,
                hostname="mymachine.example.com",
                ident="evntslog",
                msgid="ID47",
            ),
        ),
        (b'<13>1 - - - - - [a b="x\\"]y"][c] msg', want("msg")),
        (b"<13>1 - host app 77 - -", want("", hostname="host", ident="app", pid=77)),
        (b"<13>1 - - app - - [x]msg", want("msg", ident="app")),
        # A broken RFC 5424 header is kept whole as text.
        (b"<13>1 - - app - - [unterminated msg", want("1 - - app - - [unterminated msg")),
        (b"<13>1 only two", want("1 only two")),
        (b"<13>1 - - app - - junk msg", want("1 - - app - - junk msg")),
    ],
)
def test_shapes(datagram: bytes, expected: dict[str, Any]) -> None:
    assert fields(parse_syslog(datagram, NOW)) == expected


def test_rfc5424_timestamp_keeps_its_offset() -> None:
    msg = parse_syslog(b"<13>1 2003-08-24T05:14:15.000003-07:00 h a - - - m", NOW)
    assert msg.timestamp == datetime(2003, 8, 24, 12, 14, 15, 3, tzinfo=UTC)
    assert msg.timestamp.utcoffset() == timedelta(hours=-7)


@pytest.mark.parametrize(
    "stamp", ["2003-13-24T05:14:15Z", "2003-08-24T05:14:15", "yesterday", "0001-01-01T00:00:00Z"]
)
def test_rfc5424_unusable_timestamp_is_now(stamp: str) -> None:
    msg = parse_syslog(f"<13>1 {stamp} h a - - - m".encode(), NOW)
    assert msg.timestamp == NOW
    assert msg.text == "m"


def test_rfc3339_stamp_in_rfc3164_position() -> None:
    msg = parse_syslog(b"<13>2026-11-22T10:00:00.5+01:00 host app[3]: m", NOW)
    assert msg.timestamp == datetime(2026, 11, 22, 9, 0, 0, 500000, tzinfo=UTC)
    assert (msg.hostname, msg.ident, msg.pid, msg.text) == ("host", "app", 3, "m")


@pytest.mark.parametrize(
    ("now", "stamp", "year"),
    [
        (datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC), b"Dec 31 23:59:59", 2026),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), b"Jan  1 00:00:01", 2027),
        (datetime(2026, 6, 1, tzinfo=UTC), b"Jun  1 00:00:00", 2026),
        (datetime(2025, 3, 1, tzinfo=UTC), b"Feb 29 23:00:00", 2024),
    ],
)
def test_rfc3164_year_is_the_nearest(now: datetime, stamp: bytes, year: int) -> None:
    msg = parse_syslog(b"<13>" + stamp + b" app: m", now)
    assert msg.timestamp.year == year
    assert msg.ident == "app"


def test_rfc3164_stamp_is_in_the_zone_of_now() -> None:
    plus2 = timezone(timedelta(hours=2))
    msg = parse_syslog(b"<13>Nov 22 13:00:00 app: m", NOW.astimezone(plus2))
    assert msg.timestamp == datetime(2026, 11, 22, 11, 0, tzinfo=UTC)


def test_impossible_rfc3164_date_falls_back_to_now() -> None:
    msg = parse_syslog(b"<13>Feb 30 10:00:00 app: m", NOW)
    assert msg.timestamp == NOW
    assert (msg.ident, msg.text) == ("app", "m")


def test_octet_count_must_match() -> None:
    assert parse_syslog(b"5 <13>x", NOW).text == "x"
    assert parse_syslog(b"4 <13>x", NOW).text == "4 <13>x"


@given(st.binary(max_size=300), st.datetimes(timezones=st.sampled_from([UTC, None])))
@settings(max_examples=1000)
def test_never_raises_on_bytes(datagram: bytes, now: datetime) -> None:
    msg = parse_syslog(datagram, now)
    assert isinstance(msg.text, str)


SYSLOG_PIECES = st.sampled_from(
    [
        "<13>", "<191>", "<0>", "<999>", "<", ">", "1 ", "- ", "[", "]", '"', "\\", " ",
        "Nov 22 11:11:47 ", "Feb 29 00:00:00 ", "2026-11-22T11:13:20.5Z ", "app", "[42]",
        ": ", "host ", "\ufeff", "\n", "\x00", "\udcff", "x=\"y\"",
    ]
)  # fmt: skip


@given(st.lists(SYSLOG_PIECES, max_size=20).map("".join))
@settings(max_examples=1000)
def test_never_raises_on_near_misses(text: str) -> None:
    msg = parse_syslog(text.encode("utf-8", "surrogateescape"), NOW)
    assert not msg.text.endswith(("\x00", "\n"))


# --- live: the real tools, when present --------------------------------------


@pytest.mark.skipif(LOGGER is None, reason="util-linux logger not installed")
@pytest.mark.parametrize("flavour", [[], ["--rfc3164"], ["--rfc5424"]])
def test_live_logger(flavour: list[str]) -> None:
    data = logger_datagram(*flavour, "-t", "livetest", "-i", "-p", "daemon.err", "live \u2713")
    now = datetime.now(UTC)
    msg = parse_syslog(data, now.astimezone())
    assert (msg.facility, msg.severity) == (Facility.DAEMON, Severity.ERR)
    assert (msg.ident, msg.text) == ("livetest", "live \u2713")
    assert msg.pid is not None
    assert msg.pid > 0
    assert abs(msg.timestamp - now) < timedelta(minutes=2)
    assert (msg.hostname is not None) == bool(flavour)


def test_live_python_handler() -> None:
    data = handler_datagram("from python", ident=f"pyapp[{os.getpid()}]: ", level=logging.INFO)
    msg = parse_syslog(data, NOW)
    assert fields(msg) == want(
        "from python", severity=Severity.INFO, ident="pyapp", pid=os.getpid()
    )
