"""One /dev/log datagram -> SyslogMessage. Pure, and never raises.

Three shapes arrive on /dev/log, told apart by what follows ``<PRI>``:

- RFC 5424, ``<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`` with ``-`` for
  an absent field (``logger --rfc5424``);
- RFC 3164, ``<PRI>Mmm dd hh:mm:ss [HOST] TAG[PID]: MSG``; glibc's syslog(3)
  and plain ``logger -u`` leave the host out, ``logger --rfc3164`` puts it in;
- bare, ``<PRI>MSG`` (Python's SysLogHandler), where MSG may still start with
  ``TAG[PID]:``.

Whatever does not fit one of these becomes the message text unchanged, so a
bad sender loses its metadata, never its words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum


class Facility(IntEnum):
    """syslog facilities, numbered as on the wire (RFC 5424 table 1, Linux names)."""

    KERN = 0
    USER = 1
    MAIL = 2
    DAEMON = 3
    AUTH = 4
    SYSLOG = 5
    LPR = 6
    NEWS = 7
    UUCP = 8
    CRON = 9
    AUTHPRIV = 10
    FTP = 11
    NTP = 12
    SECURITY = 13
    CONSOLE = 14
    SOLARIS_CRON = 15
    LOCAL0 = 16
    LOCAL1 = 17
    LOCAL2 = 18
    LOCAL3 = 19
    LOCAL4 = 20
    LOCAL5 = 21
    LOCAL6 = 22
    LOCAL7 = 23


class Severity(IntEnum):
    """syslog severities; lower is more severe."""

    EMERG = 0
    ALERT = 1
    CRIT = 2
    ERR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7


@dataclass(frozen=True)
class SyslogMessage:
    facility: Facility
    severity: Severity
    # From the message when it has a usable one, else the receive time.
    timestamp: datetime
    hostname: str | None
    ident: str | None
    pid: int | None
    msgid: str | None
    text: str


# What syslog(3) uses when the sender gives no priority: user.notice.
DEFAULT_FACILITY = Facility.USER
DEFAULT_SEVERITY = Severity.NOTICE

_PRI = re.compile(rb"<(\d{1,3})>")
# RFC 6587 octet counting (`logger --octet-count`): "LEN <PRI>...".
_OCTET_COUNT = re.compile(rb"(\d{1,5}) (?=<)")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
# "Mmm dd hh:mm:ss " with the day padded by a space ("Nov  2").
_BSD_TIME = re.compile(rf"({'|'.join(_MONTH_NAMES)}) ([ \d]\d) (\d\d):(\d\d):(\d\d) ")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")
# A tag is a whole word ending in ':', the pid in brackets before the colon,
# as journald reads it: "http://host is down" has no tag.
_TAG = re.compile(r"([^\s\[]+?)(?:\[([^\s\]]*)\])?:(?: |$)")
_BOM = "\ufeff"


def parse_syslog(datagram: bytes, now: datetime) -> SyslogMessage:
    """Parse one datagram; ``now`` (aware) dates RFC 3164 stamps and stands in for absent ones."""
    data = datagram.rstrip(b"\r\n\0")
    data = _strip_octet_count(data)
    facility, severity, data = _split_pri(data)
    text = data.decode("utf-8", errors="replace")
    if text.startswith("1 "):
        parsed = _parse_rfc5424(text[2:], facility, severity, now)
        if parsed is not None:
            return parsed
    return _parse_rfc3164(text, facility, severity, now)


def _strip_octet_count(data: bytes) -> bytes:
    match = _OCTET_COUNT.match(data)
    if match and int(match.group(1)) == len(data) - match.end():
        return data[match.end() :]
    return data


def _split_pri(data: bytes) -> tuple[Facility, Severity, bytes]:
    match = _PRI.match(data)
    if match is None:
        return DEFAULT_FACILITY, DEFAULT_SEVERITY, data
    pri = int(match.group(1))
    if pri > Facility.LOCAL7 * 8 + Severity.DEBUG:
        # Not a priority after all: keep the bytes as text.
        return DEFAULT_FACILITY, DEFAULT_SEVERITY, data
    return Facility(pri >> 3), Severity(pri & 7), data[match.end() :]


def _parse_rfc5424(
    rest: str, facility: Facility, severity: Severity, now: datetime
) -> SyslogMessage | None:
    """The part after ``<PRI>1 ``; None if the header is incomplete (then it is 3164 text)."""
    fields = rest.split(" ", 5)
    if len(fields) < 6:
        return None
    stamp, host, app, procid, msgid, tail = fields
    structured, msg = _split_structured_data(tail)
    if structured is None:
        return None
    if msg.startswith(_BOM):
        msg = msg[len(_BOM) :]
    return SyslogMessage(
        facility=facility,
        severity=severity,
        timestamp=_rfc3339(stamp) or now,
        hostname=_nil(host),
        ident=_nil(app),
        pid=_pid(procid),
        msgid=_nil(msgid),
        text=msg,
    )


def _split_structured_data(tail: str) -> tuple[str | None, str]:
    """``-`` or ``[id k="v"]...``, then an optional space and MSG; None if unterminated."""
    if tail == "-" or tail.startswith("- "):
        return "-", tail[2:]
    pos = 0
    while pos < len(tail) and tail[pos] == "[":
        end = _element_end(tail, pos)
        if end < 0:
            return None, tail
        pos = end + 1
    if pos == 0:
        return None, tail
    # The space before MSG is required; be lenient when a sender forgets it.
    return tail[:pos], tail[pos + 1 :] if tail[pos : pos + 1] == " " else tail[pos:]


def _element_end(text: str, start: int) -> int:
    """Index of the ``]`` closing the SD-ELEMENT at ``start``; -1 if none.

    Inside quoted values ``\\"``, ``\\\\`` and ``\\]`` are escapes, so a ``]``
    there does not close the element.
    """
    quoted = False
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if quoted and char == "\\":
            pos += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == "]" and not quoted:
            return pos
        pos += 1
    return -1


def _parse_rfc3164(
    text: str, facility: Facility, severity: Severity, now: datetime
) -> SyslogMessage:
    timestamp, rest = _leading_timestamp(text, now)
    hostname = None
    ident = pid = None
    tag = _TAG.match(rest)
    if tag is None and timestamp is not None:
        # With a stamp, one word not ending in ':' may be the host, if a tag follows.
        host, _, after_host = rest.partition(" ")
        host_tag = _TAG.match(after_host)
        if host and host_tag is not None:
            hostname, rest, tag = host, after_host, host_tag
    if tag is not None:
        ident, pid = tag.group(1), _pid(tag.group(2))
        rest = rest[tag.end() :]
    return SyslogMessage(
        facility=facility,
        severity=severity,
        timestamp=timestamp or now,
        hostname=hostname,
        ident=ident,
        pid=pid,
        msgid=None,
        text=rest,
    )


def _leading_timestamp(text: str, now: datetime) -> tuple[datetime | None, str]:
    bsd = _BSD_TIME.match(text)
    if bsd is not None:
        month, day, hour, minute, second = bsd.groups()
        stamp = _nearest_year(
            now, _MONTHS[month], int(day.strip()), int(hour), int(minute), int(second)
        )
        return stamp, text[bsd.end() :]
    # Some senders put an RFC 3339 stamp into the old format.
    iso = _RFC3339.match(text)
    if iso is not None and text[iso.end() : iso.end() + 1] == " ":
        stamp = _rfc3339(iso.group())
        if stamp is not None:
            return stamp, text[iso.end() + 1 :]
    return None, text


def _nearest_year(
    now: datetime, month: int, day: int, hour: int, minute: int, second: int
) -> datetime | None:
    """RFC 3164 stamps have no year: take the one that puts the stamp nearest ``now``.

    So a message from 23:59:59 on Dec 31 received just after midnight is last year's.
    """
    # Compared as wall-clock times: no offsets, so no overflow near datetime's limits.
    wall_now = now.replace(tzinfo=None)
    candidates = []
    for year in (now.year - 1, now.year, now.year + 1):
        try:
            candidates.append(datetime(year, month, day, hour, minute, second))
        except ValueError:
            continue  # year 0 or 10000, Feb 29 outside a leap year, Apr 31, hour 25 ...
    if not candidates:
        return None
    nearest = min(candidates, key=lambda c: abs(c - wall_now))
    return nearest.replace(tzinfo=now.tzinfo or UTC)


def _rfc3339(text: str) -> datetime | None:
    if not _RFC3339.fullmatch(text):
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None  # month 13, hour 24 ...
    # Years 1 and 9999 overflow once converted to another zone; no clock sends them.
    return stamp if 1 < stamp.year < 9999 else None


def _nil(field: str) -> str | None:
    return None if field in ("-", "") else field


def _pid(field: str | None) -> int | None:
    if field is None or not field.isascii() or not field.isdigit() or len(field) > 10:
        return None
    pid = int(field)
    return pid if 0 < pid < 2**31 else None
