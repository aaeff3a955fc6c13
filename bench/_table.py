"""Rows of numbers -> one markdown table, each cell with its ratio to the
row's anchor."""

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

COLUMNS = {"guestinit": "guestinit", "tini": "tini", "dumb-init": "dumb-init", "floor": "floor"}


@dataclass(frozen=True)
class Row:
    label: str
    values: Mapping[str, float | None]  # by column key; missing: not measured
    anchor: str | None  # column the ratios are against; None: no ratios
    digits: int = 1
    target: str = ""
    met: bool | None = None  # None: no target (information only)


def markdown(rows: list[Row]) -> str:
    header = ["row", *COLUMNS.values(), "target", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.label, *(_cell(row, column) for column in COLUMNS), row.target or "—"]
        cells.append({True: "met", False: "**missed**", None: ""}[row.met])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(row: Row, column: str) -> str:
    value = row.values.get(column)
    if value is None:
        return "—"
    text = f"{value:.{row.digits}f}"
    if row.anchor is None:
        return text
    if column == row.anchor:
        return f"{text} (anchor)"
    anchor = row.values.get(row.anchor)
    return f"{text} ({value / anchor:.2f}x)" if anchor else text


def machine_section(title: str, table: str, notes: list[str]) -> str:
    """A dated RESULTS.md section: when, on what, then the table."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    facts = [
        f"kernel `{os.uname().release}`",
        f"CPU `{_cpu_model()}`",
        f"nproc {len(os.sched_getaffinity(0))}",
        *notes,
    ]
    return f"\n## {stamp} — {title}\n\n" + "; ".join(facts) + ".\n\n" + table


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"
