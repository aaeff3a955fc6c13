"""Diagnostics: every complaint names the file and line it is about."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    file: str
    line: int  # 1-based; 0 when the complaint is about the unit as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity.value}: {self.message}"


@dataclass(frozen=True)
class Origin:
    """Where an assignment came from; drop-ins keep their own file name."""

    file: str
    line: int


class Sink:
    """Collects diagnostics while one unit is interpreted."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, at: Origin, message: str) -> None:
        self.items.append(Diagnostic(Severity.ERROR, at.file, at.line, message))

    def warning(self, at: Origin, message: str) -> None:
        self.items.append(Diagnostic(Severity.WARNING, at.file, at.line, message))

    def note(self, at: Origin, message: str) -> None:
        self.items.append(Diagnostic(Severity.NOTE, at.file, at.line, message))
