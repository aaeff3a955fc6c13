"""The ini layer of systemd.syntax(7): text -> sections and ``Key=value`` assignments.

Nothing here knows what a key means. Follows systemd's config parser where it
differs from a naive ini reader:

- a line ending in an odd number of backslashes continues on the next line (the
  backslash becomes a space); comment lines inside a continuation are dropped,
  and a blank line ends it;
- ``#`` and ``;`` start a comment only at the start of a line, never mid-value;
- a line without ``=`` is skipped with a warning, but a malformed section header
  makes the whole file unusable, as systemd refuses such a file.
"""

from __future__ import annotations

from dataclasses import dataclass

from guestinit.unitfile._diagnostics import Origin, Sink

WHITESPACE = " \t\n\r"
_COMMENT = "#;"
_BOM = "\ufeff"
# systemd refuses a unit file with a line (continuations joined) longer than
# 1 MiB (LONG_LINE_MAX in its fileio.h); so do we, counted in characters.
MAX_LINE = 1024 * 1024


@dataclass(frozen=True)
class Assignment:
    section: str
    key: str
    value: str
    at: Origin


@dataclass(frozen=True)
class Section:
    name: str
    at: Origin


@dataclass(frozen=True)
class ParsedText:
    assignments: tuple[Assignment, ...]
    sections: tuple[Section, ...]
    fatal: bool  # a malformed section header: systemd refuses the file


def _ends_escaped(text: str) -> bool:
    """True when the last character is a backslash that is not itself escaped."""
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


class LineTooLong(Exception):
    """A logical line (continuations joined) longer than MAX_LINE."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join continuations; return (first physical line number, joined text) pairs.
    Raises LineTooLong at the first line past MAX_LINE characters."""
    out: list[tuple[int, str]] = []
    # The pieces of a continued line and their length so far: joining them at
    # each line would copy the line again and again (quadratic in its length).
    pending: list[str] | None = None
    size = 0
    start = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        stripped = line.lstrip(WHITESPACE)
        if stripped and stripped[0] in _COMMENT:
            if len(line) > MAX_LINE:
                raise LineTooLong(number)
            continue  # also inside a continuation: systemd skips the comment block
        if pending is None:
            start, pending, size = number, [], 0
        size += len(line)
        if size > MAX_LINE:
            raise LineTooLong(start)
        if _ends_escaped(line):
            pending.append(line[:-1] + " ")
            continue
        pending.append(line)
        out.append((start, "".join(pending)))
        pending = None
    if pending is not None:
        out.append((start, "".join(pending)))
    return out


def parse_text(text: str, file: str, sink: Sink) -> ParsedText:
    """Split one file's text into assignments; diagnostics go to ``sink``."""
    if text.startswith(_BOM):
        text = text[len(_BOM) :]
    assignments: list[Assignment] = []
    sections: list[Section] = []
    section: str | None = None
    fatal = False
    try:
        lines = _logical_lines(text)
    except LineTooLong as error:
        limit = f"{MAX_LINE // (1024 * 1024)} MiB"
        sink.error(Origin(file, error.line), f"line longer than {limit}; the file is refused")
        return ParsedText((), (), True)
    for number, joined in lines:
        at = Origin(file, number)
        line = joined.strip(WHITESPACE)
        if not line:
            continue
        if line.startswith("["):
            name = line[1:-1]
            if not line.endswith("]") or len(line) < 2:
                sink.error(at, f"invalid section header {line!r}; the file is refused")
                fatal = True
                section = None
            elif any(ch in name for ch in "[]\"'\\") or not name.isprintable():
                sink.error(at, f"bad characters in section header {line!r}; the file is refused")
                fatal = True
                section = None
            else:
                section = name
                sections.append(Section(name, at))
            continue
        if section is None:
            if not fatal:  # after a refused header, one error is enough
                sink.warning(at, "assignment outside of any section, ignored")
            continue
        key, equals, value = line.partition("=")
        if not equals:
            sink.warning(at, "missing '=', line ignored")
            continue
        key = key.strip(WHITESPACE)
        if not key:
            sink.warning(at, "missing key name before '=', line ignored")
            continue
        assignments.append(Assignment(section, key, value.strip(WHITESPACE), at))
    return ParsedText(tuple(assignments), tuple(sections), fatal)
