"""The control protocol of guestinit: newline-delimited JSON over a Unix socket (pure).

Transport
    An ``AF_UNIX`` stream socket, by default ``/run/guestinit/control.sock``
    (mode 0600, or 0660 and owned by the control group when the manager runs
    with ``--control-group``). Each message is one JSON object encoded as UTF-8
    on one line, ended by ``\\n``; blank lines are ignored. A line longer than
    ``MAX_LINE`` bytes (1 MiB) ends the connection with an error response. A
    client may send several requests on one connection; every request gets
    exactly one response, matched by ``id`` (responses to requests that wait
    for a job may come out of order). The server never speaks first, except
    to refuse: a peer that is not allowed, or one connection too many, gets
    a single error response with ``id`` 0 at once, and the connection is
    closed. After an overlong line the answer also has ``id`` 0. A client
    may half-close (``shutdown(SHUT_WR)``) after its last request; a last
    line without its ``\\n`` is still read then.

Who may connect
    The server reads the peer's credentials from the kernel (``SO_PEERCRED``,
    supplementary groups from ``SO_PEERGROUPS``). uid 0 is always allowed;
    members of the control group (primary or supplementary) are allowed when
    one is configured; anyone else is refused with exit code 4.

Request::

    {"id": 7, "verb": "restart", "args": {"units": ["sshd.service"]}}

    id     integer, 0 <= id < 2**63, chosen by the client, echoed in the response
    verb   one of the verbs below
    args   object; may be omitted when empty. Unknown argument names and
           unknown top-level keys are rejected; missing optional arguments
           take the defaults listed below.

Response::

    {"id": 7, "ok": true, "exit": 0, "result": {...}, "error": null}

    id      the request's id (0 when the request's id could not be read)
    ok      true: the request was understood and carried out, ``result`` has
            the verb's shape (see ``results``), ``error`` is null.
            false: ``error`` says why in one line, ``result`` is null.
    exit    the exit code ``guestinit ctl`` exits with, as systemctl would:
            e.g. ``is-active`` on an inactive unit is ok=true with exit 3.
    result  per verb, see below; null for verbs that return nothing.
    error   string or null.

Exit codes: 0 success; 1 failure (a job failed, no such unit file); 2 invalid
request; 3 not active (``status``, ``is-active``); 4 no such unit (``status``)
or permission denied; 5 unit not found (``start`` and the other job verbs).

Verbs and arguments (``UNITS``: list of unit names, at least one; ``units``:
the same but may be empty; names are ``[A-Za-z0-9:_.@\\-]``, at most 256
characters, and are used as given; the client adds ``.service`` when a name has
no unit type suffix)::

    status             units=[] (empty: every loaded unit)      -> StatusResult
    start              UNITS, no_block=false                    -> JobsResult
    stop               UNITS, no_block=false                    -> JobsResult
    restart            UNITS, no_block=false                    -> JobsResult
    try-restart        UNITS, no_block=false                    -> JobsResult
    reload             UNITS, no_block=false                    -> JobsResult
    reload-or-restart  UNITS, no_block=false                    -> JobsResult
    kill               UNITS, signal=15, whom="all"             -> JobsResult
                       (whom: "main", "control" or "all")
    is-active          UNITS                                    -> StatesResult
    is-failed          UNITS                                    -> StatesResult
    is-enabled         UNITS                                    -> StatesResult
    list-units         all=false, patterns=[] (shell globs)     -> UnitList
    list-timers        all=false, patterns=[]                   -> TimerList
    cat                UNITS                                    -> CatResult
    show               units=[], properties=[], all=false       -> ShowResult
                       (no units: the manager's own properties; no
                       properties: all of them; all: empty ones too)
    daemon-reload                                               -> ReloadResult
    enable             UNITS                                    -> ChangesResult
    disable            UNITS                                    -> ChangesResult
    poweroff, reboot, halt                                      -> null
    exit               code=0 (0-255: the container's exit code) -> null
    health                                                      -> HealthResult
    logs               units=[] (empty: all), lines=-1 (-1: all), after=0
                       (a cursor: only newer lines), since=0 (epoch seconds,
                       0: no bound), wait=false (answer once a line newer
                       than ``after`` exists, or empty after LOGS_WAIT s)
                                                                -> LogsResult

``no_block=false`` means the response is sent when the job is over (the unit
is active, inactive or failed); with true, when it has been queued.
"""

import enum
import json

from guestinit._signames import RTMAX

MAX_LINE = 1024 * 1024
# A response may be longer than a request (status of every unit): up to this.
MAX_RESPONSE = 8 * 1024 * 1024
# When a response would pass MAX_RESPONSE, strings longer than this are cut
# (with a marker) so that one unit's huge Description= or STATUS= cannot make
# the status of all the others fail.
MAX_FIELD = 4096
MAX_ID = 2**63 - 1
MAX_LIST = 4096  # entries in one list argument
MAX_NAME = 256  # a unit name, as systemd limits it

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2
EXIT_NOT_ACTIVE = 3
EXIT_NO_UNIT = 4  # status: no such unit
EXIT_PERMISSION = 4  # the LSB code for "insufficient privilege"
EXIT_NOT_FOUND = 5  # start & co.: unit not found

DEFAULT_SIGNAL = 15
WHOM = ("main", "control", "all")

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.@-\\")
_GLOB_CHARS = _NAME_CHARS | frozenset("*?[]!^")


class Verb(enum.StrEnum):
    STATUS = "status"
    START = "start"
    STOP = "stop"
    RESTART = "restart"
    TRY_RESTART = "try-restart"
    RELOAD = "reload"
    RELOAD_OR_RESTART = "reload-or-restart"
    KILL = "kill"
    IS_ACTIVE = "is-active"
    IS_FAILED = "is-failed"
    IS_ENABLED = "is-enabled"
    LIST_UNITS = "list-units"
    LIST_TIMERS = "list-timers"
    CAT = "cat"
    SHOW = "show"
    DAEMON_RELOAD = "daemon-reload"
    ENABLE = "enable"
    DISABLE = "disable"
    POWEROFF = "poweroff"
    REBOOT = "reboot"
    HALT = "halt"
    EXIT = "exit"
    HEALTH = "health"
    LOGS = "logs"


# The verbs that queue a job and, unless no_block, answer when it is over.
JOB_VERBS = frozenset(
    {
        Verb.START,
        Verb.STOP,
        Verb.RESTART,
        Verb.TRY_RESTART,
        Verb.RELOAD,
        Verb.RELOAD_OR_RESTART,
    }
)


class Kind(enum.Enum):
    """What an argument's value must be; the default follows from the kind."""

    UNITS = "non-empty list of unit names"
    UNIT_LIST = "list of unit names"
    PATTERNS = "list of unit name patterns"
    PROPERTIES = "list of property names"
    BOOL = "boolean"
    SIGNAL = f"signal number 1-{RTMAX}"
    WHOM = "one of " + ", ".join(WHOM)
    CODE = "exit code 0-255"
    LINES = "line count, -1 for all"
    CURSOR = "cursor (integer >= 0)"
    TIME = "time in epoch seconds (>= 0)"


_DEFAULTS: dict[Kind, object] = {
    Kind.UNIT_LIST: [],
    Kind.PATTERNS: [],
    Kind.PROPERTIES: [],
    Kind.BOOL: False,
    Kind.SIGNAL: DEFAULT_SIGNAL,
    Kind.WHOM: "all",
    Kind.CODE: 0,
    Kind.LINES: -1,
    Kind.CURSOR: 0,
    Kind.TIME: 0,
}

_JOB_ARGS = {"units": Kind.UNITS, "no_block": Kind.BOOL}
_UNITS_ONLY = {"units": Kind.UNITS}
_LISTING = {"all": Kind.BOOL, "patterns": Kind.PATTERNS}

# verb -> {argument name: kind}: the whole of request validation is this table.
ARGS: dict[Verb, dict[str, Kind]] = {
    Verb.STATUS: {"units": Kind.UNIT_LIST},
    **{verb: _JOB_ARGS for verb in JOB_VERBS},
    Verb.KILL: {"units": Kind.UNITS, "signal": Kind.SIGNAL, "whom": Kind.WHOM},
    Verb.IS_ACTIVE: _UNITS_ONLY,
    Verb.IS_FAILED: _UNITS_ONLY,
    Verb.IS_ENABLED: _UNITS_ONLY,
    Verb.LIST_UNITS: _LISTING,
    Verb.LIST_TIMERS: _LISTING,
    Verb.CAT: _UNITS_ONLY,
    Verb.SHOW: {"units": Kind.UNIT_LIST, "properties": Kind.PROPERTIES, "all": Kind.BOOL},
    Verb.DAEMON_RELOAD: {},
    Verb.ENABLE: _UNITS_ONLY,
    Verb.DISABLE: _UNITS_ONLY,
    Verb.POWEROFF: {},
    Verb.REBOOT: {},
    Verb.HALT: {},
    Verb.EXIT: {"code": Kind.CODE},
    Verb.HEALTH: {},
    Verb.LOGS: {
        "units": Kind.UNIT_LIST,
        "lines": Kind.LINES,
        "after": Kind.CURSOR,
        "since": Kind.TIME,
        "wait": Kind.BOOL,
    },
}
LOGS_WAIT = 30.0  # seconds a logs request with wait=true is held at most


class _Value:
    """An immutable value object. Not a dataclass: that import costs ~7 ms on
    top of json and socket, and ``guestinit ctl health`` runs as a healthcheck."""

    __slots__: tuple[str, ...] = ()
    _fields: tuple[str, ...] = ()  # the constructor's order

    def __init__(self, *values: object) -> None:
        for name, value in zip(self._fields, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Value) or type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # args and results hold lists

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={v!r}" for n, v in zip(self._fields, self._values(), strict=True))
        return f"{type(self).__name__}({fields})"


class ProtocolError(_Value):
    """A line we cannot accept; returned (not raised) by the decoders.
    ``id`` is the request's id when it could be read, for the error response."""

    __slots__ = ("id", "message")
    _fields = ("message", "id")
    message: str
    id: int | None

    def __init__(self, message: str, id: int | None = None) -> None:
        super().__init__(message, id)


class Request(_Value):
    """A validated request: ``args`` holds every argument of the verb, defaults
    filled in, so the typed accessors below never fail."""

    __slots__ = ("args", "id", "verb")
    _fields = ("id", "verb", "args")
    id: int
    verb: Verb
    args: dict[str, object]

    def __init__(self, id: int, verb: Verb, args: dict[str, object]) -> None:
        super().__init__(id, verb, args)

    # Typed views of ``args``; a verb without the argument gives its default.

    @property
    def units(self) -> list[str]:
        return self._list("units")

    @property
    def patterns(self) -> list[str]:
        return self._list("patterns")

    @property
    def properties(self) -> list[str]:
        return self._list("properties")

    @property
    def all(self) -> bool:
        return self.args.get("all") is True

    @property
    def no_block(self) -> bool:
        return self.args.get("no_block") is True

    @property
    def signal(self) -> int:
        value = self.args.get("signal")
        return value if isinstance(value, int) else DEFAULT_SIGNAL

    @property
    def whom(self) -> str:
        value = self.args.get("whom")
        return value if isinstance(value, str) else "all"

    @property
    def code(self) -> int:
        value = self.args.get("code")
        return value if isinstance(value, int) else 0

    def number(self, name: str) -> float:
        """A numeric argument (lines, after, since); 0 when absent."""
        value = self.args.get(name)
        return value if isinstance(value, int | float) and not isinstance(value, bool) else 0

    def _list(self, name: str) -> list[str]:
        value = self.args.get(name)
        return list(value) if isinstance(value, list) else []


class Response(_Value):
    __slots__ = ("error", "exit", "id", "ok", "result")
    _fields = ("id", "ok", "exit", "result", "error")
    id: int
    ok: bool
    exit: int
    result: object
    error: str | None

    def __init__(
        self, id: int, ok: bool, exit: int, result: object = None, error: str | None = None
    ) -> None:
        super().__init__(id, ok, exit, result, error)

    @classmethod
    def success(cls, id: int, result: object = None, exit: int = EXIT_OK) -> "Response":
        return cls(id, True, exit, result, None)

    @classmethod
    def failure(cls, id: int, error: str, exit: int = EXIT_FAILURE) -> "Response":
        return cls(id, False, exit, None, error)


# --- requests ---------------------------------------------------------------


def build_request(
    id: int, verb: str, args: dict[str, object] | None = None
) -> Request | ProtocolError:
    """Validate one request; the same checks for the client and the server."""
    if isinstance(id, bool) or not isinstance(id, int) or not 0 <= id <= MAX_ID:
        return ProtocolError(f"id must be an integer 0-{MAX_ID}")
    try:
        known = Verb(verb)
    except ValueError:
        return ProtocolError(f"unknown verb {verb!r}", id)
    given = {} if args is None else args
    if not isinstance(given, dict):
        return ProtocolError("args must be an object", id)
    spec = ARGS[known]
    unknown = sorted(set(given) - set(spec))
    if unknown:
        return ProtocolError(f"{known}: unknown argument {unknown[0]!r}", id)
    checked: dict[str, object] = {}
    for name, kind in spec.items():
        if name not in given:
            if kind is Kind.UNITS:
                return ProtocolError(f"{known}: missing argument {name!r}", id)
            checked[name] = _fresh(_DEFAULTS[kind])
            continue
        value = _check(kind, given[name])
        if value is None:
            return ProtocolError(f"{known}: {name} must be a {kind.value}", id)
        checked[name] = value
    return Request(id, known, checked)


def encode_request(request: Request) -> bytes:
    """One line, ``\\n`` included."""
    return _dump({"id": request.id, "verb": str(request.verb), "args": request.args})


def decode_request(line: bytes) -> Request | ProtocolError:
    """Any bytes in, never an exception out."""
    message = _load(line)
    if isinstance(message, ProtocolError):
        return message
    id = message.get("id")
    if isinstance(id, bool) or not isinstance(id, int) or not 0 <= id <= MAX_ID:
        return ProtocolError(f"id must be an integer 0-{MAX_ID}")
    extra = sorted(set(message) - {"id", "verb", "args"})
    if extra:
        return ProtocolError(f"unknown key {extra[0]!r}", id)
    verb = message.get("verb")
    if not isinstance(verb, str):
        return ProtocolError("verb must be a string", id)
    args = message.get("args", {})
    if not isinstance(args, dict):
        return ProtocolError("args must be an object", id)
    return build_request(id, verb, args)


def _check(kind: Kind, value: object) -> object | None:
    """The value when it is acceptable for ``kind``, else None."""
    if kind is Kind.BOOL:
        return value if isinstance(value, bool) else None
    if kind in (Kind.SIGNAL, Kind.CODE):
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        low, high = (1, RTMAX) if kind is Kind.SIGNAL else (0, 255)
        return value if low <= value <= high else None
    if kind in (Kind.LINES, Kind.CURSOR):
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        return value if (-1 if kind is Kind.LINES else 0) <= value <= MAX_ID else None
    if kind is Kind.TIME:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value if 0 <= value < 1e11 else None
    if kind is Kind.WHOM:
        return value if value in WHOM else None
    if not isinstance(value, list) or len(value) > MAX_LIST:
        return None
    if kind is Kind.UNITS and not value:
        return None
    allowed = _GLOB_CHARS if kind is Kind.PATTERNS else _NAME_CHARS
    for item in value:
        if not isinstance(item, str) or not 0 < len(item) <= MAX_NAME:
            return None
        if kind is Kind.PROPERTIES:
            if not (item.isascii() and item.isalnum()):
                return None
        elif not set(item) <= allowed:
            # No "/" above all: names end up in file paths (cat, enable).
            return None
    return list(value)


def _fresh(default: object) -> object:
    return list(default) if isinstance(default, list) else default


# --- responses --------------------------------------------------------------


def encode_response(response: Response) -> bytes:
    """One line, ``\\n`` included. Raises TypeError or ValueError when the
    result is not JSON (a bug in the handler; the server answers with an error)."""
    return _dump(
        {
            "id": response.id,
            "ok": response.ok,
            "exit": response.exit,
            "result": response.result,
            "error": response.error,
        }
    )


def clip_strings(value: object, limit: int = MAX_FIELD) -> object:
    """``value`` with every string longer than ``limit`` cut, and said so."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return f"{value[:limit]}... [{len(value) - limit} more characters cut]"
    if isinstance(value, dict):
        return {key: clip_strings(item, limit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clip_strings(item, limit) for item in value]
    return value


def decode_response(line: bytes) -> Response | ProtocolError:
    """Any bytes in, never an exception out. ``result`` and ``error`` may be
    missing (null); the rest must be right."""
    message = _load(line)
    if isinstance(message, ProtocolError):
        return message
    id, ok, exit = message.get("id"), message.get("ok"), message.get("exit")
    error = message.get("error")
    if isinstance(id, bool) or not isinstance(id, int) or not 0 <= id <= MAX_ID:
        return ProtocolError("response id must be an integer")
    if not isinstance(ok, bool):
        return ProtocolError("response ok must be a boolean", id)
    if isinstance(exit, bool) or not isinstance(exit, int) or not 0 <= exit <= 255:
        return ProtocolError("response exit must be an integer 0-255", id)
    if error is not None and not isinstance(error, str):
        return ProtocolError("response error must be a string or null", id)
    return Response(id, ok, exit, message.get("result"), error)


# --- JSON lines -------------------------------------------------------------


def _dump(message: dict[str, object]) -> bytes:
    # ASCII-only output: lone surrogates (undecodable file names) stay encodable.
    # allow_nan=False: NaN is not JSON, and jq & co. would reject the line.
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text.encode("ascii") + b"\n"


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _load(line: bytes) -> dict[str, object] | ProtocolError:
    try:
        # Decoded here, not by json.loads: it would guess UTF-16/32 from bytes.
        value = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        return ProtocolError("JSON nested too deeply")
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
        return ProtocolError(f"not a JSON line: {error}")
    if not isinstance(value, dict):
        return ProtocolError("a message must be a JSON object")
    return value


class LineBuffer:
    """Bytes in, complete lines out (without the ``\\n``).

    A line longer than ``max_line`` sets ``overflowed``: the caller answers
    with an error and drops the connection; nothing is returned after that.
    """

    __slots__ = ("_data", "_scanned", "max_line", "overflowed")

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self.overflowed = False
        self._data = bytearray()
        self._scanned = 0  # bytes of _data known to hold no newline

    def feed(self, data: bytes) -> list[bytes]:
        if self.overflowed:
            return []
        self._data += data
        lines: list[bytes] = []
        start = 0
        while True:
            # Resume the search where the last one ended: a line arriving a
            # byte at a time must not cost quadratic time.
            end = self._data.find(b"\n", max(start, self._scanned))
            if end < 0:
                break
            if end - start > self.max_line:
                return self._overflow(lines)
            lines.append(bytes(self._data[start:end]))
            start = end + 1
        del self._data[:start]
        self._scanned = len(self._data)
        if len(self._data) > self.max_line:
            return self._overflow(lines)
        return [line for line in lines if line.strip()]

    @property
    def partial(self) -> bool:
        """Part of a line has come, not its end."""
        return bool(self._data)

    def tail(self) -> bytes:
        """What is left without a newline (at end of input: a last line)."""
        rest, self._data, self._scanned = bytes(self._data), bytearray(), 0
        return rest

    def _overflow(self, lines: list[bytes]) -> list[bytes]:
        self.overflowed = True
        self._data = bytearray()
        self._scanned = 0
        return [line for line in lines if line.strip()]
