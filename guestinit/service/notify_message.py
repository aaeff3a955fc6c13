"""sd_notify datagrams as typed messages (pure: bytes in, a frozen value out).

A datagram is newline-separated ``KEY=VALUE`` assignments, like an environment
block. Every line is judged on its own: a bad line is recorded in ``errors``
and the rest of the message still counts, because a service that sends
``READY=1`` next to a typo must still become ready. Nothing here raises on
input; whatever arrives on the socket comes from an untrusted process.

When a key repeats, the first assignment wins (systemd looks each key up from
the start of the message the same way).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

# NotifyAccess= values, also accepted in a NOTIFYACCESS= message.
NOTIFY_ACCESS_VALUES = frozenset({"none", "main", "exec", "all"})

# Keys of the file descriptor store, which we do not implement: a message with
# any of them is marked refused and its descriptors are closed on arrival.
FDSTORE_KEYS = frozenset({"FDSTORE", "FDSTOREREMOVE", "FDNAME", "FDPOLL"})

_UINT64_MAX = 2**64 - 1
_PID_MAX = 2**22  # the kernel's PID_MAX_LIMIT on 64-bit
_INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class NotifyMessage:
    """What one datagram said. ``None``/``False`` means "not said"."""

    ready: bool = False
    reloading: bool = False
    stopping: bool = False
    monotonic_usec: int | None = None
    status: str | None = None
    errno: int | None = None
    bus_error: str | None = None
    main_pid: int | None = None
    watchdog: bool = False  # WATCHDOG=1: the keep-alive ping
    watchdog_trigger: bool = False  # WATCHDOG=trigger: fail as if the watchdog expired
    watchdog_usec: int | None = None
    extend_timeout_usec: int | None = None
    notify_access: str | None = None
    exit_status: int | None = None
    barrier: bool = False  # BARRIER=1: answered by closing the fd it carries
    fdstore_refused: bool = False
    unknown: dict[str, str] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing usable in it (only bad lines, or no lines at all)."""
        return self == NotifyMessage(errors=self.errors)


def parse_notify(datagram: bytes) -> NotifyMessage:
    """Parse one datagram; never raises."""
    values: dict[str, object] = {}
    unknown: dict[str, str] = {}
    errors: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate(datagram.split(b"\n"), start=1):
        if not raw:
            continue  # the trailing newline, or blank lines between assignments
        line = _decode(raw)
        if line is None:
            errors.append(f"line {number}: not UTF-8")
            continue
        if "\0" in line:
            errors.append(f"line {number}: contains a NUL byte")
            continue
        key, equals, value = line.partition("=")
        if not equals or not key:
            errors.append(f"line {number}: not KEY=VALUE: {_shorten(line)}")
            continue
        if key in seen:
            continue  # first assignment wins
        seen.add(key)
        parser = _PARSERS.get(key)
        if parser is None:
            if key in FDSTORE_KEYS:
                values["fdstore_refused"] = True
            else:
                unknown[key] = value
            continue
        try:
            name, converted = parser(value)
        except ValueError as error:
            errors.append(f"line {number}: {key}={_shorten(value)}: {error}")
            continue
        values[name] = converted
    return NotifyMessage(**values, unknown=unknown, errors=tuple(errors))  # type: ignore[arg-type]


def sender_allowed(
    access: str,
    sender_pid: int,
    main_pid: int | None,
    control_pids: set[int],
    unit_pids: set[int],
) -> bool:
    """NotifyAccess=: may ``sender_pid`` update this service's state?

    ``none`` nobody; ``main`` the main process only; ``exec`` the main process
    or a control process (ExecStartPre=, ExecStartPost=, ExecReload=,
    ExecStop=, ...); ``all`` any process of the unit. Unknown values allow
    nobody: a typo must not open the service to every process.
    """
    if sender_pid <= 0:
        return False
    is_main = main_pid is not None and sender_pid == main_pid
    if access == "main":
        return is_main
    if access == "exec":
        return is_main or sender_pid in control_pids
    if access == "all":
        return is_main or sender_pid in control_pids or sender_pid in unit_pids
    return False


# ---- value converters: raise ValueError with a short reason ----------------
Converter = Callable[[str], tuple[str, object]]


def _flag(name: str) -> Converter:
    def convert(value: str) -> tuple[str, object]:
        if value != "1":
            raise ValueError("expected 1")
        return name, True

    return convert


def _number(name: str, maximum: int, minimum: int = 0) -> Converter:
    def convert(value: str) -> tuple[str, object]:
        # Digits only: int() would also take "+5", " 5", "5_000" and "\u0665".
        if not (value.isascii() and value.isdigit()):
            raise ValueError("not a decimal number")
        number = int(value)
        if not minimum <= number <= maximum:
            raise ValueError(f"out of range {minimum}..{maximum}")
        return name, number

    return convert


def _text(name: str) -> Converter:
    return lambda value: (name, value)


def _watchdog(value: str) -> tuple[str, object]:
    if value == "1":
        return "watchdog", True
    if value == "trigger":
        return "watchdog_trigger", True
    raise ValueError("expected 1 or trigger")


def _notify_access(value: str) -> tuple[str, object]:
    if value not in NOTIFY_ACCESS_VALUES:
        raise ValueError("expected none, main, exec or all")
    return "notify_access", value


_PARSERS: dict[str, Converter] = {
    "READY": _flag("ready"),
    "RELOADING": _flag("reloading"),
    "STOPPING": _flag("stopping"),
    "BARRIER": _flag("barrier"),
    "MONOTONIC_USEC": _number("monotonic_usec", _UINT64_MAX),
    "STATUS": _text("status"),
    "ERRNO": _number("errno", _INT_MAX),
    "BUSERROR": _text("bus_error"),
    "MAINPID": _number("main_pid", _PID_MAX, minimum=1),
    "WATCHDOG": _watchdog,
    "WATCHDOG_USEC": _number("watchdog_usec", _UINT64_MAX),
    "EXTEND_TIMEOUT_USEC": _number("extend_timeout_usec", _UINT64_MAX),
    "NOTIFYACCESS": _notify_access,
    "EXIT_STATUS": _number("exit_status", 255),
}


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _shorten(text: str, limit: int = 60) -> str:
    """For error texts: printable, and not the whole of a 4 KiB line."""
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."
