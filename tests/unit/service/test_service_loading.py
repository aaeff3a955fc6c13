"""Unit files read over several turns: preload follows what a unit pulls in,
work() stops at its deadline, the ordering waits for the end of the batch."""

import time
from pathlib import Path

from guestinit import _log
from guestinit.service.loading import Loader
from guestinit.service.registry import Registry


class Quiet(_log.Log):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, level: int, text: str) -> None:
        self.lines.append(text)


def registry_with_chain(folder: Path, count: int) -> Registry:
    for index in range(count):
        wants = (
            f"Wants=u{index + 1}.target\nAfter=u{index + 1}.target\n" if index + 1 < count else ""
        )
        (folder / f"u{index}.target").write_text(f"[Unit]\n{wants}")
    return Registry((str(folder),), str(folder / "enabled"), Quiet())


def test_preload_reads_what_is_pulled_in_over_several_slices(tmp_path: Path) -> None:
    registry = registry_with_chain(tmp_path, 50)
    loader = Loader(registry)
    assert loader.preload(["u0.target"])
    before = len(registry.units)
    loader.work(time.monotonic() - 1)  # no time left: still one file, so work moves
    assert loader.busy and len(registry.units) == before + 1 < 50
    assert registry.hold, "no ordering is computed in the middle of a batch"
    loader.work(time.monotonic() + 30)
    assert not loader.busy and not registry.hold
    assert sorted(registry.units) == sorted(f"u{i}.target" for i in range(50))
    assert registry.edges["u0.target"] == {"u1.target"}


def test_preload_of_loaded_units_needs_no_turn(tmp_path: Path) -> None:
    registry = registry_with_chain(tmp_path, 5)
    loader = Loader(registry)
    loader.preload(["u0.target"])
    loader.work(time.monotonic() + 30)
    assert not loader.preload(["u0.target", "u3.target"])


def test_reload_collects_the_warnings_of_every_unit(tmp_path: Path) -> None:
    registry = registry_with_chain(tmp_path, 3)
    loader = Loader(registry)
    loader.preload(["u0.target"])
    loader.work(time.monotonic() + 30)
    (tmp_path / "u2.target").write_text("[Unit]\nno equals sign\n")
    loader.reload()
    assert loader.busy
    loader.work(time.monotonic() + 30)
    assert not loader.busy
    assert len(loader.reload_warnings) == 1 and "missing '='" in loader.reload_warnings[0]
