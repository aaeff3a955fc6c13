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
    escaped = False
    for char in text:
        escaped = not escaped if char == "\\" else False
    return escaped


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join continuations; return (first physical line number, joined text) pairs."""
    out: list[tuple[int, str]] = []
    pending: str | None = None
    start = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        stripped = line.lstrip(WHITESPACE)
        if stripped and stripped[0] in _COMMENT:
            continue  # also inside a continuation: systemd skips the comment block
        if pending is None:
            start, joined = number, line
        else:
            joined = pending + line
        if _ends_escaped(joined):
            pending = joined[:-1] + " "
            continue
        pending = None
        out.append((start, joined))
    if pending is not None:
        out.append((start, pending))
    return out


def parse_text(text: str, file: str, sink: Sink) -> ParsedText:
    """Split one file's text into assignments; diagnostics go to ``sink``."""
    if text.startswith(_BOM):
        text = text[len(_BOM) :]
    assignments: list[Assignment] = []
    sections: list[Section] = []
    section: str | None = None
    fatal = False
    for number, joined in _logical_lines(text):
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
