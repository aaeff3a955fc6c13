"""Small text helpers shared by renderers (pure)."""

import re

_CPU_LINE = re.compile(r"cpu(\d+)$")


def cpu_line_id(first_word: str) -> int | None:
    """/proc/stat "cpu3" -> 3; "cpu" and anything else -> None."""
    match = _CPU_LINE.match(first_word)
    return int(match.group(1)) if match else None


def encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")
