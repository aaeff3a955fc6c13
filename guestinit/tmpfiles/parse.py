"""One tmpfiles.d file's text -> typed lines (pure).

The format is tmpfiles.d(5)'s: ``Type Path Mode User Group Age Argument``,
fields split by whitespace, the first six may be quoted and hold C escapes,
the argument is the rest of the line. Missing trailing fields are ``-``.
Bad lines are reported as ``file:line: message`` and skipped; the others
stand. Specifiers (``%t``, ``%m``, ...) are expanded in the path and the
argument from a SpecifierContext given by the caller.
"""

import base64
import binascii
import dataclasses
import enum
import os

from guestinit.unitfile import SpecifierContext


class Severity(enum.Enum):
    ERROR = "error"  # the line is skipped; the run exits 65 (EX_DATAERR)
    WARNING = "warning"  # said, and the line (or a fixed version of it) stands


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    origin: str  # "file:line"
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


class Type(enum.Enum):
    """The line types; the value is the letter."""

    CREATE_FILE = "f"
    TRUNCATE_FILE = "F"  # also f+
    WRITE_FILE = "w"
    CREATE_DIRECTORY = "d"
    EMPTY_DIRECTORY = "D"
    ADJUST_DIRECTORY = "e"
    SUBVOLUME = "v"
    SUBVOLUME_INHERIT_QUOTA = "q"
    SUBVOLUME_NEW_QUOTA = "Q"
    CREATE_FIFO = "p"
    CREATE_SYMLINK = "L"
    CREATE_CHAR_DEVICE = "c"
    CREATE_BLOCK_DEVICE = "b"
    COPY = "C"
    IGNORE = "x"
    IGNORE_DIRECTORY = "X"
    REMOVE = "r"
    REMOVE_RECURSIVE = "R"
    ADJUST = "z"
    ADJUST_RECURSIVE = "Z"
    XATTR = "t"
    XATTR_RECURSIVE = "T"
    ATTRIBUTES = "h"
    ATTRIBUTES_RECURSIVE = "H"
    ACL = "a"
    ACL_RECURSIVE = "A"


# Lines of these types take shell globs in their path.
GLOB_TYPES = frozenset(
    {
        Type.WRITE_FILE,
        Type.ADJUST_DIRECTORY,
        Type.IGNORE,
        Type.IGNORE_DIRECTORY,
        Type.REMOVE,
        Type.REMOVE_RECURSIVE,
        Type.ADJUST,
        Type.ADJUST_RECURSIVE,
        Type.XATTR,
        Type.XATTR_RECURSIVE,
        Type.ATTRIBUTES,
        Type.ATTRIBUTES_RECURSIVE,
        Type.ACL,
        Type.ACL_RECURSIVE,
    }
)
# Parsed, then skipped with a note: extended attributes, chattr flags and
# ACLs need libacl/ioctls that an image's Python cannot count on.
UNSUPPORTED_TYPES = frozenset(
    {
        Type.XATTR,
        Type.XATTR_RECURSIVE,
        Type.ATTRIBUTES,
        Type.ATTRIBUTES_RECURSIVE,
        Type.ACL,
        Type.ACL_RECURSIVE,
    }
)
# Two lines for one path conflict when both are of these kinds (the first
# file wins); a z or t line may go beside a d line for the same path.
OWNING_TYPES = frozenset(
    {
        Type.CREATE_FILE,
        Type.TRUNCATE_FILE,
        Type.WRITE_FILE,
        Type.CREATE_DIRECTORY,
        Type.EMPTY_DIRECTORY,
        Type.SUBVOLUME,
        Type.SUBVOLUME_INHERIT_QUOTA,
        Type.SUBVOLUME_NEW_QUOTA,
        Type.CREATE_FIFO,
        Type.CREATE_SYMLINK,
        Type.CREATE_CHAR_DEVICE,
        Type.CREATE_BLOCK_DEVICE,
        Type.COPY,
        Type.IGNORE,
        Type.IGNORE_DIRECTORY,
        Type.REMOVE,
        Type.REMOVE_RECURSIVE,
    }
)
_WRITES_CONTENT = frozenset({Type.CREATE_FILE, Type.TRUNCATE_FILE, Type.WRITE_FILE})
_MODIFIERS = frozenset("+!-=~^")


@dataclasses.dataclass(frozen=True)
class Line:
    type: Type
    path: str
    origin: str  # "file:line"
    plus: bool = False  # "+": truncate, append, or replace what is in the way
    boot: bool = False  # "!": only with --boot
    ignore_failure: bool = False  # "-": a failed create is not an error
    credential: bool = False  # "^": the argument names a credential
    mode: int | None = None
    mode_masked: bool = False  # "~0644": keep the file's absent x/r/w bits absent
    mode_create_only: bool = False  # ":0644": only for a new inode
    user: str | None = None
    group: str | None = None
    owner_create_only: bool = False
    age: str | None = None  # parsed for syntax, never acted on
    argument: str | None = None
    content: bytes | None = None  # f, F, w: what to write (after ~ decoding)

    @property
    def is_glob(self) -> bool:
        return self.type in GLOB_TYPES and any(c in self.path for c in "*?[")


def parse_text(
    text: str, file: str, context: SpecifierContext
) -> tuple[list[Line], list[Diagnostic]]:
    """Every line of one file; diagnostics name ``file:N``."""
    lines: list[Line] = []
    problems: list[Diagnostic] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        origin = f"{file}:{number}"
        try:
            line, notes = parse_line(stripped, origin, context)
        except Unresolvable as error:
            problems.append(Diagnostic(origin, str(error), Severity.WARNING))
            continue
        except LineError as error:
            problems.append(Diagnostic(origin, str(error)))
            continue
        problems += notes
        lines.append(line)
    return lines, problems


class LineError(ValueError):
    """Why a line is skipped."""


class Unresolvable(LineError):
    """A specifier with no value here (%m without /etc/machine-id, as in a
    fresh image): the line is skipped with a warning, as systemd-tmpfiles
    skips it, not counted as invalid."""


def parse_line(text: str, origin: str, context: SpecifierContext) -> tuple[Line, list[Diagnostic]]:
    fields, argument = split_fields(text)
    fields += ["-"] * (6 - len(fields))
    type_field, path, mode_field, user, group, age = fields[:6]
    kind, modifiers = _type(type_field)
    notes: list[Diagnostic] = []
    path = expand(path, context)
    if not path.startswith("/"):
        raise LineError(f"path {path!r} is not absolute")
    path = os.path.normpath(path).replace("//", "/")
    if path.startswith("/var/run/"):
        fixed = "/run" + path[len("/var/run") :]
        message = (
            f"line references path below legacy directory /var/run/, updating {path} -> {fixed}"
        )
        notes.append(Diagnostic(origin, message, Severity.WARNING))
        path = fixed
    mode, masked, mode_create_only = _mode(mode_field)
    owner_create_only = user.startswith(":") or group.startswith(":")
    user, group = user.removeprefix(":"), group.removeprefix(":")
    arg = None if argument in ("", "-") else argument
    if arg is not None and "^" not in modifiers and "~" not in modifiers:
        arg = expand(arg, context)
    content = _content(kind, modifiers, arg)
    if kind is Type.TRUNCATE_FILE or (kind is Type.CREATE_FILE and "+" in modifiers):
        kind = Type.TRUNCATE_FILE
    if kind in (Type.CREATE_CHAR_DEVICE, Type.CREATE_BLOCK_DEVICE):
        _device(arg)
    if kind is Type.ADJUST_DIRECTORY and age == "-" and mode is None and user == group == "-":
        message = "e line with no mode, owner or age: it has no effect"
        notes.append(Diagnostic(origin, message, Severity.WARNING))
    _check_age(age)
    line = Line(
        type=kind,
        path=path,
        origin=origin,
        plus="+" in modifiers,
        boot="!" in modifiers,
        ignore_failure="-" in modifiers,
        credential="^" in modifiers,
        mode=mode,
        mode_masked=masked,
        mode_create_only=mode_create_only,
        user=None if user == "-" else user,
        group=None if group == "-" else group,
        owner_create_only=owner_create_only,
        age=None if age == "-" else age,
        argument=arg,
        content=content,
    )
    return line, notes


def _type(field: str) -> tuple[Type, str]:
    letter, modifiers = field[:1], field[1:]
    try:
        kind = Type(letter)
    except ValueError:
        raise LineError(f"unknown line type {field!r}") from None
    unknown = set(modifiers) - _MODIFIERS
    if unknown or len(set(modifiers)) != len(modifiers):
        raise LineError(f"bad modifiers in line type {field!r}")
    if ("~" in modifiers or "^" in modifiers) and kind not in _WRITES_CONTENT:
        raise LineError(f"{field!r}: ~ and ^ only go with f, F and w")
    return kind, modifiers


def _mode(field: str) -> tuple[int | None, bool, bool]:
    create_only = field.startswith(":")
    field = field.removeprefix(":")
    masked = field.startswith("~")
    field = field.removeprefix("~")
    if field == "-":
        return None, False, False
    try:
        mode = int(field, 8)
    except ValueError:
        raise LineError(f"invalid mode {field!r}") from None
    if not 0 <= mode <= 0o7777:
        raise LineError(f"invalid mode {field!r}")
    return mode, masked, create_only


def _content(kind: Type, modifiers: str, argument: str | None) -> bytes | None:
    if kind not in _WRITES_CONTENT or argument is None or "^" in modifiers:
        return None
    if "~" in modifiers:
        try:
            return base64.b64decode(argument, validate=False)
        except (binascii.Error, ValueError):
            raise LineError("argument is not valid base64") from None
    return argument.encode("utf-8", "surrogateescape")


def _device(argument: str | None) -> None:
    major, colon, minor = (argument or "").partition(":")
    if not (colon and major.isdigit() and minor.isdigit()):
        raise LineError(f"device numbers must be MAJOR:MINOR, got {argument!r}")


_AGE_UNITS: tuple[str, ...] = ("usec", "us", "msec", "ms", "seconds", "second", "sec", "s")
_AGE_UNITS += ("minutes", "minute", "min", "m", "hours", "hour", "hr", "h", "days", "day", "d")
_AGE_UNITS += ("weeks", "week", "w")


def _check_age(age: str) -> None:
    """Ages are not acted on, but a malformed one is still a bad line."""
    if age == "-":
        return
    body = age.partition(":")[2] if ":" in age else age
    body = body.removeprefix("~").replace(" ", "")
    while body:
        digits = len(body) - len(body.lstrip("0123456789"))
        if digits == 0:
            raise LineError(f"invalid age {age!r}")
        body = body[digits:]
        unit = next((u for u in _AGE_UNITS if body.startswith(u)), "")
        body = body[len(unit) :]


# ---- words --------------------------------------------------------------------------

_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPES.update({"\\": "\\", '"': '"', "'": "'", "s": " "})


def split_fields(text: str) -> tuple[list[str], str]:
    """The first six whitespace-separated words (quotes and escapes undone),
    and the rest of the line as the argument (escapes undone)."""
    fields: list[str] = []
    at = 0
    while len(fields) < 6:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return fields, ""
        word, at = _word(text, at)
        fields.append(word)
    while at < len(text) and text[at].isspace():
        at += 1
    return fields, unescape(text[at:])


def _word(text: str, at: int) -> tuple[str, int]:
    out: list[str] = []
    quote = ""
    while at < len(text):
        char = text[at]
        if quote:
            if char == quote:
                quote = ""
                at += 1
                continue
        elif char in "\"'":
            quote = char
            at += 1
            continue
        elif char.isspace():
            break
        if char == "\\" and at + 1 < len(text):
            decoded, at = _escape(text, at)
            out.append(decoded)
            continue
        out.append(char)
        at += 1
    if quote:
        raise LineError("unbalanced quotes")
    return "".join(out), at


def unescape(text: str) -> str:
    out: list[str] = []
    at = 0
    while at < len(text):
        if text[at] == "\\" and at + 1 < len(text):
            decoded, at = _escape(text, at)
            out.append(decoded)
        else:
            out.append(text[at])
            at += 1
    return "".join(out)


def _escape(text: str, at: int) -> tuple[str, int]:
    """The escape at ``text[at]`` (a backslash): its character, and where to go on."""
    char = text[at + 1]
    if char in _ESCAPES:
        return _ESCAPES[char], at + 2
    if char == "x" and _is_hex(text[at + 2 : at + 4], 2):
        return chr(int(text[at + 2 : at + 4], 16)), at + 4
    if char == "u" and _is_hex(text[at + 2 : at + 6], 4):
        return chr(int(text[at + 2 : at + 6], 16)), at + 6
    if char == "U" and _is_hex(text[at + 2 : at + 10], 8):
        return chr(int(text[at + 2 : at + 10], 16)), at + 10
    octal = text[at + 1 : at + 4]
    if len(octal) == 3 and all(c in "01234567" for c in octal):
        return chr(int(text[at + 1 : at + 4], 8)), at + 4
    raise LineError(f"invalid escape \\{char}")


def _is_hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789abcdefABCDEF" for c in text)


# ---- specifiers ---------------------------------------------------------------------


def expand(text: str, ctx: SpecifierContext) -> str:
    """tmpfiles.d(5)'s specifiers; an unknown one makes the line invalid."""
    if "%" not in text:
        return text
    table = {
        "a": ctx.architecture,
        "A": ctx.os_image_version,
        "b": ctx.boot_id,
        "B": ctx.os_build_id,
        "C": ctx.cache_dir,
        "g": ctx.group_name,
        "G": str(ctx.group_id),
        "h": ctx.home,
        "H": ctx.hostname,
        "l": ctx.hostname.partition(".")[0],
        "L": ctx.logs_dir,
        "m": ctx.machine_id,
        "M": ctx.os_image_id,
        "o": ctx.os_id,
        "S": ctx.state_dir,
        "t": ctx.runtime_dir,
        "T": ctx.tmp_dir,
        "u": ctx.user_name,
        "U": str(ctx.user_id),
        "v": ctx.kernel_release,
        "V": ctx.var_tmp_dir,
        "w": ctx.os_version_id,
        "W": "",
        "%": "%",
    }
    out: list[str] = []
    at = 0
    while at < len(text):
        char = text[at]
        if char != "%":
            out.append(char)
            at += 1
            continue
        key = text[at + 1 : at + 2]
        if key not in table:
            raise LineError(f"unknown specifier %{key} in {text!r}")
        if key in "bm" and not table[key]:
            raise Unresolvable(f"%{key} has no value here: line skipped ({text!r})")
        out.append(table[key])
        at += 2
    return "".join(out)
