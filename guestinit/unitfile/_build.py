"""The accumulator that section handlers write into, and handler factories.

systemd applies assignments one by one, in file order and then drop-in order:
a later scalar wins, list keys append, and an empty value resets (where the key
allows it). A bad value is logged and ignored, leaving what was there before.
The handlers here do the same; ``_parse`` turns the accumulated fields into the
frozen specs at the end.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

from guestinit.unitfile._diagnostics import Origin, Sink
from guestinit.unitfile._names import UnitName, parse_unit_name
from guestinit.unitfile._quote import QuoteError, split_words
from guestinit.unitfile._specifiers import SpecifierContext, SpecifierError, resolve_specifiers
from guestinit.unitfile._syntax import Assignment


class Builder:
    """Field values per section, keyed by the dataclass field name."""

    def __init__(self, unit: UnitName, ctx: SpecifierContext, sink: Sink, path: str) -> None:
        self.unit = unit
        self.ctx = ctx
        self.sink = sink
        self.path = path
        self.sections: dict[str, dict[str, Any]] = {"Unit": {}, "Install": {}, "Service": {}}
        self.explicit: set[str] = set()
        self.unsupported: list[Assignment] = []

    def fields(self, section: str) -> dict[str, Any]:
        return self.sections[section]

    def resolve(self, text: str, at: Origin) -> str | None:
        """Specifiers applied, or None after an error naming the line."""
        try:
            return resolve_specifiers(text, self.unit, self.ctx, self.path)
        except SpecifierError as exc:
            self.sink.error(at, f"{exc}; assignment ignored")
            return None

    def words(self, a: Assignment, *, unquote: bool = True) -> list[str] | None:
        """The value's words, each with specifiers applied; None after an error."""
        warnings: list[str] = []
        try:
            raw = split_words(a.value, warnings) if unquote else a.value.split()
        except QuoteError as exc:
            self.sink.error(a.at, f"{a.key}=: {exc}; assignment ignored")
            return None
        for message in warnings:
            self.sink.warning(a.at, f"{a.key}=: {message}")
        out: list[str] = []
        for word in raw:
            resolved = self.resolve(word, a.at)
            if resolved is None:
                return None
            out.append(resolved)
        return out

    def bad_value(self, a: Assignment, why: object) -> None:
        self.sink.warning(a.at, f"{a.key}={a.value!r}: {why}; assignment ignored")


Handler = Callable[[Builder, Assignment], None]
Parser = Callable[[str], Any]
E = TypeVar("E", bound=enum.Enum)


def choice(enum_type: type[E]) -> Callable[[str], E]:
    """A parser for one of an enum's values, naming the valid ones when it fails."""

    def parse(value: str) -> E:
        for member in enum_type:
            if member.value == value:
                return member
        allowed = ", ".join(str(m.value) for m in enum_type)
        raise ValueError(f"expected one of: {allowed}")

    return parse


def scalar(section: str, field: str, parse: Parser, *, specifiers: bool = False) -> Handler:
    """One value; the last assignment wins and an empty one restores the default."""

    def handle(b: Builder, a: Assignment) -> None:
        fields = b.fields(section)
        if not a.value:
            fields.pop(field, None)
            return
        text = b.resolve(a.value, a.at) if specifiers else a.value
        if text is None:
            return
        try:
            fields[field] = parse(text)
        except ValueError as exc:
            b.bad_value(a, exc)

    return handle


def text(section: str, field: str) -> Handler:
    """A free-text value with specifiers (Description=, User=, ...)."""
    return scalar(section, field, str, specifiers=True)


def word_list(
    section: str,
    field: str,
    parse: Parser = str,
    *,
    resettable: bool = True,
    unquote: bool = True,
) -> Handler:
    """Whitespace-separated words that accumulate across assignments.

    ``resettable=False`` is for dependencies: systemd cannot drop a dependency once
    added, so an empty assignment does nothing there.
    """

    def handle(b: Builder, a: Assignment) -> None:
        fields = b.fields(section)
        if not a.value:
            if resettable:
                fields[field] = []
            return
        words = b.words(a, unquote=unquote)
        if words is None:
            return
        parsed: list[Any] = []
        for word in words:
            try:
                parsed.append(parse(word))
            except ValueError as exc:
                b.sink.warning(a.at, f"{a.key}=: {exc}; word ignored")
        fields.setdefault(field, []).extend(parsed)

    return handle


def unit_names(section: str, field: str) -> Handler:
    """Dependency lists: unit names, escapes such as ``\\x2d`` kept as written."""

    def check(word: str) -> str:
        parse_unit_name(word)
        return word

    return word_list(section, field, check, resettable=False, unquote=False)
