"""``journalctl`` (the shim, by argv[0]) and ``guestinit ctl logs``: the last
lines of units, from the running manager's memory, as journalctl shows them.

Both ask the ``logs`` verb. ``-f`` keeps one connection and sends one
request at a time with the last cursor and ``wait``: the manager answers when
a newer line exists (never polled, and PID 1 never blocks on a follower).
What is kept is bounded (see logs/ring.py): older lines are gone, and there
is no journal on disk, so ``-b`` means "since guestinit started".
"""

import datetime
import socket
import sys
import time
from typing import Any

from guestinit import _argv, _log
from guestinit.control import client
from guestinit.control.logview import OUTPUTS, render_entry
from guestinit.control.protocol import (
    LOGS_WAIT,
    ProtocolError,
    Response,
    Verb,
    build_request,
    encode_request,
)

NO_ENTRIES = "-- No entries --\n"
JOURNALCTL_USAGE = """\
journalctl [OPTIONS...]

guestinit's journalctl: the last lines of each unit, kept in the memory of the
running guestinit service manager (no journal on disk).

  -u --unit=UNIT         lines of UNIT (repeatable)
  -t --identifier=NAME   lines whose identifier is NAME (repeatable)
  -n --lines=N           the last N lines ("all": every line kept)
  -f --follow            print new lines as they come
  -b --boot              accepted: everything kept is of this boot
  -S --since=TIME        lines since TIME (2024-01-02 03:04:05, 03:04, -5min, today)
  -o --output=FORMAT     short (default), short-iso, short-precise, cat, json
  -q --quiet             no "-- No entries --"
  --no-pager --no-hostname -a -e -x -l --system   accepted
"""
CTL_USAGE = """\
usage: guestinit ctl logs [UNIT...] [-n N] [-f] [--since TIME] [-o FORMAT]

The last lines of the units (all units when none is named), kept in memory by
the running service manager; -f follows. FORMAT: short, short-iso, cat, json.
"""

_SHORT = "u:t:n:fbS:o:qaexlhm"
_LONG = {
    "unit=": "-u",
    "identifier=": "-t",
    "lines=": "-n",
    "follow": "-f",
    "boot": "-b",
    "since=": "-S",
    "output=": "-o",
    "quiet": "-q",
    "no-pager": "--no-pager",
    "no-hostname": "--no-hostname",
    "all": "-a",
    "pager-end": "-e",
    "catalog": "-x",
    "full": "-l",
    "merge": "-m",
    "system": "--system",
    "socket=": "--socket",
    "help": "-h",
}


class Query:
    __slots__ = ("follow", "hostname", "identifiers", "lines", "output", "quiet", "since", "units")

    def __init__(self) -> None:
        self.units: list[str] = []
        self.identifiers: list[str] = []
        self.lines = -1
        self.follow = False
        self.since = 0.0
        self.output = "short"
        self.quiet = False
        self.hostname = True


def parse(argv: list[str], now: float, ctl: bool) -> tuple[Query, dict[str, str]]:
    """Raises UsageError."""
    found, words = client.parse_anywhere(_drop_boot_ids(argv), _SHORT, _LONG)
    query = Query()
    extra: dict[str, str] = {}
    lines_given = False
    for option, value in found:
        if option == "-u":
            query.units.append(client.unit_name(value))
        elif option == "-t":
            query.identifiers.append(value)
        elif option == "-n":
            query.lines, lines_given = _lines(value), True
        elif option == "-f":
            query.follow = True
        elif option == "-S":
            query.since = parse_since(value, now)
        elif option == "-o":
            if value not in OUTPUTS:
                raise _argv.UsageError(
                    f"output format {value!r} not supported: {', '.join(OUTPUTS)}"
                )
            query.output = value
        elif option == "-q":
            query.quiet = True
        elif option == "--no-hostname":
            query.hostname = False
        elif option in ("-h", "--socket"):
            extra[option] = value
    if ctl:
        query.units += [client.unit_name(word) for word in words]
    elif words:
        raise _argv.UsageError(f"matches like {words[0]!r} are not supported; use -u UNIT")
    if query.follow and not lines_given:
        query.lines = 10  # journalctl -f starts with the last 10
    return query, extra


def _drop_boot_ids(argv: list[str]) -> list[str]:
    """``-b 0``, ``-b -1``: one boot is all there is; the id is dropped."""
    out: list[str] = []
    for word in argv:
        if out and out[-1] in ("-b", "--boot") and word.lstrip("-+").isdigit():
            continue
        out.append(word)
    return out


def _lines(value: str) -> int:
    if value == "all":
        return -1
    if not value.lstrip("+").isdigit():
        raise _argv.UsageError(f"-n takes a number or 'all', got {value!r}")
    return int(value)


_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: float) -> float:
    """``2024-01-02 03:04:05``, ``2024-01-02``, ``03:04[:05]`` (today),
    ``-5min``/``5min ago``, ``now``, ``today``, ``yesterday`` -> epoch seconds."""
    text = text.strip()
    today = datetime.datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    named = {"now": now, "today": today.timestamp()}
    named["yesterday"] = (today - datetime.timedelta(days=1)).timestamp()
    if text in named:
        return named[text]
    relative = text.removesuffix(" ago").removeprefix("-").replace(" ", "")
    if text.startswith("-") or text.endswith(" ago"):
        digits = relative.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = relative[len(digits) :] or "s"
        if digits.isdigit() and unit in _UNITS:
            return now - int(digits) * _UNITS[unit]
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(text, form).timestamp()
        except ValueError:
            continue
    for form in ("%H:%M:%S", "%H:%M"):
        try:
            clock = datetime.datetime.strptime(text, form)
        except ValueError:
            continue
        return today.replace(hour=clock.hour, minute=clock.minute, second=clock.second).timestamp()
    raise _argv.UsageError(f"failed to parse time {text!r}")


def main(argv: list[str]) -> int:
    """``journalctl ARGV...``."""
    return _run(argv, ctl=False)


def ctl_main(argv: list[str]) -> int:
    """``guestinit ctl logs ...`` (``argv`` after ``ctl``, "logs" included)."""
    words = list(argv)
    words.remove("logs")
    return _run(words, ctl=True)


def _run(argv: list[str], ctl: bool) -> int:
    name = "guestinit ctl logs" if ctl else "journalctl"
    try:
        query, extra = parse(argv, time.time(), ctl)
    except (_argv.UsageError, ValueError) as error:
        _log.write_quietly(2, f"{name}: {error}\n")
        return 2 if ctl else 1
    if "-h" in extra:
        _log.write_quietly(1, CTL_USAGE if ctl else JOURNALCTL_USAGE)
        return 0
    import os

    path = extra.get("--socket") or os.environ.get(client.SOCKET_ENV) or client.DEFAULT_SOCKET
    try:
        return show(path, query)
    except client.Unreachable as error:
        if not ctl and client.not_booted(error):
            _log.write_quietly(2, "No journal files were found.\n")
            _log.write_quietly(1, NO_ENTRIES)
            return 1
        _log.write_quietly(2, f"guestinit: {error}\n")
        return error.exit
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0  # `| head` closed the pipe


def show(path: str, query: Query) -> int:
    """Ask, print, and with -f go on asking from the last cursor."""
    host = socket.gethostname() if query.hostname else ""
    printed = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(client.TIMEOUT)
        try:
            sock.connect(path)
        except OSError as error:
            message = f"cannot reach the service manager at {path}: {error.strerror}"
            raise client.Unreachable(message) from error
        cursor, first, more, serial = 0, True, False, 0
        while True:
            serial += 1
            args: dict[str, object] = {
                "units": query.units,
                "lines": query.lines if first else -1,
                "after": cursor,
                "since": query.since,
                "wait": query.follow and not first and not more,
            }
            request = build_request(serial, Verb.LOGS, args)
            assert not isinstance(request, ProtocolError), request
            sock.sendall(encode_request(request))
            # A held request is answered within LOGS_WAIT: allow that and more.
            sock.settimeout(LOGS_WAIT + client.TIMEOUT)
            response, _ = client._receive(sock, path, serial)
            result = _result(response)
            lines = [
                render_entry(entry, query.output, host).replace(f" {host} ", " ", 1)
                if not host and query.output.startswith("short")
                else render_entry(entry, query.output, host)
                for entry in result["entries"]
                if not query.identifiers or entry["name"] in query.identifiers
            ]
            if lines:
                sys.stdout.write("".join(line + "\n" for line in lines))
                sys.stdout.flush()
            printed += len(lines)
            cursor, first, more = int(result["cursor"]), False, bool(result["more"])
            if not query.follow and not more:
                break
    if not printed and not query.follow and not query.quiet:
        _log.write_quietly(1, NO_ENTRIES)
    return 0


def _result(response: Response) -> dict[str, Any]:
    if not response.ok or not isinstance(response.result, dict):
        raise client.Unreachable(response.error or "the service manager did not answer logs")
    return response.result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
