"""Unit names: ``prefix@instance.suffix``, templates and systemd's name escaping."""

from __future__ import annotations

import enum
import string
from dataclasses import dataclass


class UnitKind(enum.Enum):
    SERVICE = "service"
    SOCKET = "socket"
    TIMER = "timer"
    TARGET = "target"
    PATH = "path"
    MOUNT = "mount"
    AUTOMOUNT = "automount"
    SWAP = "swap"
    SLICE = "slice"
    SCOPE = "scope"
    DEVICE = "device"


_NAME_CHARS = frozenset(string.ascii_letters + string.digits + ":-_.\\@")
_MAX_NAME = 255  # systemd's UNIT_NAME_MAX


@dataclass(frozen=True)
class UnitName:
    """A parsed unit name. ``instance`` is None for plain units and "" for templates."""

    name: str
    prefix: str
    instance: str | None
    kind: UnitKind

    @property
    def is_template(self) -> bool:
        return self.instance == ""

    @property
    def template(self) -> str:
        """``foo@.service`` for ``foo@bar.service``; the name itself otherwise."""
        if self.instance is None:
            return self.name
        return f"{self.prefix}@.{self.kind.value}"

    def with_instance(self, instance: str) -> UnitName:
        return parse_unit_name(f"{self.prefix}@{instance}.{self.kind.value}")


def parse_unit_name(name: str) -> UnitName:
    """ValueError unless ``name`` is a valid unit name with a known type suffix."""
    if not name or len(name) > _MAX_NAME or any(ch not in _NAME_CHARS for ch in name):
        raise ValueError(f"invalid unit name {name!r}")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        raise ValueError(f"unit name {name!r} has no type suffix")
    try:
        kind = UnitKind(suffix)
    except ValueError:
        raise ValueError(f"unit name {name!r} has an unknown type suffix {suffix!r}") from None
    prefix, at, instance = stem.partition("@")
    if not prefix or "@" in instance:
        raise ValueError(f"invalid unit name {name!r}")
    return UnitName(name, prefix, instance if at else None, kind)


def unescape(text: str) -> str:
    """Undo systemd-escape: ``-`` -> ``/``, ``\\xNN`` -> the byte (as in %I, %J, %P)."""
    out = bytearray()
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "-":
            out += b"/"
        elif char == "\\" and text[pos + 1 : pos + 2] == "x" and _is_hex(text[pos + 2 : pos + 4]):
            out.append(int(text[pos + 2 : pos + 4], 16))
            pos += 3
        else:
            out += char.encode()
        pos += 1
    return out.decode(errors="surrogateescape")


def unescape_path(text: str) -> str:
    """Like :func:`unescape` but as an absolute path (``%f``); ``-`` alone is ``/``."""
    if text in ("", "-"):
        return "/"
    return "/" + unescape(text).strip("/")


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(ch in string.hexdigits for ch in text)
