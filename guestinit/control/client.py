"""``guestinit ctl``: ask the running service manager, print what systemctl
would, exit as systemctl would.

``main(argv)`` takes the words after ``ctl``. One request per run, over a
blocking socket with timeouts (this is a short-lived client, not PID 1).
"""

import errno
import os
import socket
import sys
import time

from guestinit import _argv, _log
from guestinit._signames import parse_signal
from guestinit.control.protocol import (
    ARGS,
    EXIT_FAILURE,
    EXIT_INVALID,
    EXIT_PERMISSION,
    JOB_VERBS,
    MAX_RESPONSE,
    WHOM,
    Kind,
    LineBuffer,
    ProtocolError,
    Request,
    Response,
    Verb,
    build_request,
    decode_response,
    encode_request,
)
from guestinit.control.render import Style, render

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_SOCKET = "/run/guestinit/control.sock"  # = server.DEFAULT_CONTROL_SOCKET
SOCKET_ENV = "GUESTINIT_CONTROL_SOCKET"
# Seconds for connecting and for any answer but the end of a job: the manager
# answers queries within one turn of its loop. Jobs are bounded by the unit's
# own TimeoutStartSec=/TimeoutStopSec=, so we wait for them as long as it takes.
TIMEOUT = 30.0
UNIT_TYPES = frozenset(
    {"service", "socket", "target", "timer", "path", "mount", "automount", "swap", "slice"}
    | {"scope", "device"}
)

USAGE = """\
usage: guestinit ctl [OPTIONS] VERB [UNIT...]

Ask the running guestinit service manager, as systemctl would.

verbs:
  status [UNIT...]          start UNIT...     stop UNIT...     restart UNIT...
  try-restart UNIT...       reload UNIT...    reload-or-restart UNIT...
  kill UNIT...              is-active UNIT... is-failed UNIT... is-enabled UNIT...
  list-units [PATTERN...]   list-timers [PATTERN...]          cat UNIT...
  show [UNIT...]            enable UNIT...    disable UNIT...  daemon-reload
  poweroff  reboot  halt    exit [CODE]       health
  logs [UNIT...] [-n N] [-f] [--since TIME] [-o short|cat|json]

options:
  --json                print the manager's answer as JSON
  -q, --quiet           print less (is-active & co.: nothing)
  --no-block            do not wait for start/stop/... to finish
  -s, --signal SIG      kill: the signal (default SIGTERM)
  --kill-whom WHOM      kill: main, control or all (default all)
  -p, --property NAME   show: only these properties (repeatable, or a,b,c)
  -a, --all             list-units, list-timers: inactive ones too; show: empty values too
  --no-legend           list-units, list-timers: no header and footer
  --socket PATH         the manager's control socket (default $GUESTINIT_CONTROL_SOCKET
                        or /run/guestinit/control.sock)
  --no-pager, -l, --full  accepted for systemctl compatibility; no effect
  -h, --help            print this help and exit

exit status: as systemctl's (is-active: 0 active, 3 not; status: 3 not active,
4 no such unit; start & co.: 1 failed, 5 no such unit); 1 when the manager
cannot be reached; 2 usage error.
"""

_SHORT = "qs:p:alh"
_LONG = {
    "json": "--json",
    "quiet": "-q",
    "no-block": "--no-block",
    "no-pager": "--no-pager",
    "signal=": "-s",
    "kill-whom=": "--kill-whom",
    "property=": "-p",
    "all": "-a",
    "no-legend": "--no-legend",
    "full": "-l",
    "socket=": "--socket",
    "help": "-h",
}


class Unreachable(Exception):
    """No answer from the service manager; the message says why."""

    def __init__(self, message: str, exit: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit = exit


def not_booted(error: Unreachable) -> bool:
    """True when nothing serves the control socket: no file there, or a file
    nobody listens on (left by a manager that was killed). ``call`` raises
    Unreachable from the OSError of connect(), which stays its __context__."""
    cause = error.__context__
    gone = (errno.ENOENT, errno.ENOTDIR, errno.ECONNREFUSED)
    return isinstance(cause, OSError) and cause.errno in gone


class Invocation:
    """A parsed command line."""

    __slots__ = ("as_json", "legend", "quiet", "request", "socket_path")

    def __init__(
        self, request: Request, socket_path: str, as_json: bool, quiet: bool, legend: bool
    ) -> None:
        self.request = request
        self.socket_path = socket_path
        self.as_json = as_json
        self.quiet = quiet
        self.legend = legend


def main(argv: list[str]) -> int:
    """``guestinit ctl ARGV...`` (all but ``logs``, which cli.py hands to the
    journalctl shim); returns the exit code."""
    try:
        parsed = parse(argv, os.environ)
    except (_argv.UsageError, ValueError) as error:
        _log.write_quietly(2, f"guestinit ctl: {error}\n{USAGE}")
        return EXIT_INVALID
    if isinstance(parsed, str):
        _log.write_quietly(1, parsed)
        return 0
    request = parsed.request
    try:
        response, line = call(parsed.socket_path, request)
    except Unreachable as error:
        _log.write_quietly(2, f"guestinit: {error}\n")
        return error.exit
    if parsed.as_json:
        out, err = line.decode("utf-8", "replace") + "\n", ""
    else:
        style = Style(time.time(), quiet=parsed.quiet, legend=parsed.legend)
        out, err = render(request.verb, response, style)
    _log.write_quietly(1, out)
    _log.write_quietly(2, err)
    if not response.ok and response.exit == 0:
        return EXIT_FAILURE
    return response.exit


# --- the command line ---------------------------------------------------------


def parse(argv: list[str], env: "Mapping[str, str]") -> Invocation | str:
    """The command line -> what to send, or the text to print (--help).
    Raises UsageError or ValueError, which name what is wrong."""
    options, operands = parse_anywhere(argv, _SHORT, _LONG)
    found: dict[str, str] = {}
    properties: list[str] = []
    for option, value in options:
        if option == "-h":
            return USAGE
        if option == "-p":
            properties += [name for name in value.split(",") if name]
        else:
            found[option] = value
    if not operands:
        raise _argv.UsageError("no verb given")
    try:
        verb = Verb(operands[0])
    except ValueError:
        raise _argv.UsageError(f"unknown verb {operands[0]!r}") from None
    args = _arguments(verb, operands[1:], found, properties)
    request = build_request(1, verb, args)
    if isinstance(request, ProtocolError):
        raise _argv.UsageError(request.message)
    path = found.get("--socket") or env.get(SOCKET_ENV) or DEFAULT_SOCKET
    return Invocation(request, path, "--json" in found, "-q" in found, "--no-legend" not in found)


def parse_anywhere(
    argv: list[str], short: str, long: dict[str, str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """Options anywhere among the operands, as GNU getopt allows
    (``ctl status sshd --json``); everything after ``--`` is an operand.
    ``_argv.parse`` stops at the first operand, so it is called again after each."""
    if "--" in argv:
        at = argv.index("--")
        argv, after = argv[:at], argv[at + 1 :]
    else:
        after = []
    options: list[tuple[str, str]] = []
    operands: list[str] = []
    rest = argv
    while rest:
        found, rest = _argv.parse(rest, short, long)
        options += found
        if rest:
            operands.append(rest[0])
            rest = rest[1:]
    return options, operands + after


def _arguments(
    verb: Verb, words: list[str], found: dict[str, str], properties: list[str]
) -> dict[str, object]:
    args: dict[str, object] = {}
    takes_words = False
    for name, kind in ARGS[verb].items():
        if kind in (Kind.UNITS, Kind.UNIT_LIST):
            args[name] = [unit_name(word) for word in words]
            takes_words = True
            if kind is Kind.UNITS and not words:
                raise _argv.UsageError(f"{verb} needs at least one unit name")
        elif kind is Kind.PATTERNS:
            args[name] = list(words)
            takes_words = True
        elif kind is Kind.CODE:
            if len(words) > 1:
                raise _argv.UsageError(f"{verb} takes one exit code")
            if words:
                args[name] = _exit_code(words[0])
            takes_words = True
        elif kind is Kind.PROPERTIES:
            args[name] = properties
        elif kind is Kind.SIGNAL and "-s" in found:
            args[name] = parse_signal(found["-s"])
        elif kind is Kind.WHOM and "--kill-whom" in found:
            if found["--kill-whom"] not in WHOM:
                raise _argv.UsageError(f"--kill-whom takes one of {', '.join(WHOM)}")
            args[name] = found["--kill-whom"]
        elif kind is Kind.BOOL:
            args[name] = {"all": "-a", "no_block": "--no-block"}.get(name, "") in found
    if words and not takes_words:
        raise _argv.UsageError(f"{verb} takes no arguments")
    return args


def unit_name(word: str) -> str:
    """``sshd`` -> ``sshd.service``, as systemctl completes a name without a
    unit type; names with a type and glob patterns stay as they are."""
    if word.rpartition(".")[2] in UNIT_TYPES or any(c in word for c in "*?["):
        return word
    return word + ".service"


def _exit_code(word: str) -> int:
    if not word.isdigit() or not 0 <= int(word) <= 255:
        raise _argv.UsageError(f"exit code must be 0-255, got {word!r}")
    return int(word)


# --- the call -----------------------------------------------------------------


def call(path: str, request: Request) -> tuple[Response, bytes]:
    """Send ``request`` and wait for its answer: the response and its line.
    Raises Unreachable."""
    waits_for_job = request.verb in JOB_VERBS and not request.no_block
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(TIMEOUT)
        try:
            sock.connect(path)
        except OSError as error:
            # EACCES: the socket file's mode refused us; the same verdict, and
            # the same exit code, as a refusal by the server itself.
            denied = error.errno in (errno.EACCES, errno.EPERM)
            raise Unreachable(
                f"cannot reach the service manager at {path}: {_reason(error)}",
                EXIT_PERMISSION if denied else EXIT_FAILURE,
            ) from None
        try:
            sock.sendall(encode_request(request))
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may have answered and closed (a refusal): read that
        except OSError as error:
            message = f"cannot talk to the service manager at {path}: {_reason(error)}"
            raise Unreachable(message) from None
        sock.settimeout(None if waits_for_job else TIMEOUT)
        return _receive(sock, path, request.id)


def _receive(sock: socket.socket, path: str, id: int) -> tuple[Response, bytes]:
    buffer = LineBuffer(MAX_RESPONSE)
    while True:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            message = f"no answer from the service manager at {path} in {TIMEOUT:g}s"
            raise Unreachable(message) from None
        except OSError as error:
            raise Unreachable(f"lost the service manager at {path}: {_reason(error)}") from None
        lines = buffer.feed(data) if data else [buffer.tail()]
        for line in lines:
            response = decode_response(line)
            # id 0: an answer to a request it could not read (or a refusal).
            if isinstance(response, Response) and response.id in (id, 0):
                return response, line
        if buffer.overflowed:
            raise Unreachable(f"the answer from {path} is too long")
        if not data:
            raise Unreachable(f"the service manager at {path} closed without answering")


def _reason(error: OSError) -> str:
    if error.errno == errno.ENOENT:
        return "No such file or directory (is guestinit running the service manager?)"
    return error.strerror or str(error) or type(error).__name__


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
