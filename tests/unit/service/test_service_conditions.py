"""Condition checks against a fixture root (the checks read the filesystem)."""

from pathlib import Path

from guestinit.service.conditions import evaluate
from guestinit.unitfile import Condition, Origin

AT = Origin("x.service", 3)


def cond(kind: str, value: str, negate: bool = False, trigger: bool = False) -> Condition:
    return Condition(kind=kind, negate=negate, trigger=trigger, value=value, at=AT)


def test_path_checks(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "empty").write_text("")
    (tmp_path / "etc" / "full").write_text("x")
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    root = str(tmp_path)
    assert evaluate([cond("PathExists", "/etc/full")], root)[0]
    assert not evaluate([cond("PathExists", "/etc/nope")], root)[0]
    assert evaluate([cond("PathExists", "/etc/nope", negate=True)], root)[0]
    assert evaluate([cond("PathExistsGlob", "/etc/f*")], root)[0]
    assert evaluate([cond("PathIsDirectory", "/etc")], root)[0]
    assert not evaluate([cond("FileNotEmpty", "/etc/empty")], root)[0]
    assert evaluate([cond("FileNotEmpty", "/etc/full")], root)[0]
    assert evaluate([cond("FileIsExecutable", "/tool")], root)[0]
    assert not evaluate([cond("FileIsExecutable", "/etc/full")], root)[0]
    assert evaluate([cond("DirectoryNotEmpty", "/etc")], root)[0]


def test_triggers_need_one_and_plain_need_all(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    root = str(tmp_path)
    either = [cond("PathExists", "/a", trigger=True), cond("PathExists", "/b", trigger=True)]
    assert evaluate(either, root)[0]
    neither = [cond("PathExists", "/c", trigger=True), cond("PathExists", "/b", trigger=True)]
    holds, notes = evaluate(neither, root)
    assert not holds and "triggered" in notes[-1]
    assert not evaluate([*either, cond("PathExists", "/b")], root)[0]


def test_unknown_kind_is_true_with_a_note_naming_file_and_line() -> None:
    holds, notes = evaluate([cond("Frobnicate", "x")])
    assert holds and notes == ["x.service:3: unknown condition Frobnicate, treated as true"]


def test_virtualization_and_ac_power_on_a_fixture(tmp_path: Path) -> None:
    (tmp_path / ".dockerenv").write_text("")
    supply = tmp_path / "sys/class/power_supply/AC"
    supply.mkdir(parents=True)
    (supply / "type").write_text("Mains\n")
    (supply / "online").write_text("0\n")
    root = str(tmp_path)
    assert evaluate([cond("Virtualization", "container")], root)[0]
    assert evaluate([cond("Virtualization", "docker")], root)[0]
    assert evaluate([cond("Virtualization", "yes")], root)[0]
    assert not evaluate([cond("Virtualization", "vm")], root)[0]
    assert evaluate([cond("ACPower", "false")], root)[0]
    assert not evaluate([cond("ACPower", "true")], root)[0]
