"""Selection, duplicates and order of tmpfiles.d lines (pure)."""

from pathlib import Path

from guestinit.tmpfiles.parse import Severity, parse_text
from guestinit.tmpfiles.plan import Selection, create_order, merge, remove_order
from guestinit.unitfile import SpecifierContext

FIXTURES = Path(__file__).parent / "fixtures"
CTX = SpecifierContext()


def parsed(*texts: str) -> list:  # type: ignore[type-arg]
    return [parse_text(text, f"{i}.conf", CTX)[0] for i, text in enumerate(texts)]


def test_boot_lines_only_with_boot() -> None:
    files = parsed((FIXTURES / "boot.conf").read_text())
    without, _ = merge(files, Selection())
    assert "/tmp/.guest-unix" not in without and "/tmp/.lock[0-9]*" not in without
    with_boot, _ = merge(files, Selection(boot=True))
    assert "/tmp/.guest-unix" in with_boot


def test_parents_first_globs_last_and_removal_reversed() -> None:
    groups, _ = merge(parsed((FIXTURES / "boot.conf").read_text()), Selection(boot=True))
    order = create_order(groups)
    assert order.index("/run/a") < order.index("/run/a/b/c")
    assert order.index("/tmp") < order.index("/tmp/.guest-unix")
    assert order[-1] == "/tmp/.lock[0-9]*"
    assert remove_order(groups) == list(reversed(order))


def test_first_file_wins_a_conflict_and_the_other_line_is_reported() -> None:
    groups, notes = merge(parsed("d /run/x 0700", "d /run/x 0755\nz /run/x - nobody"), Selection())
    assert [(line.type.value, line.mode) for line in groups["/run/x"]] == [
        ("d", 0o700),
        ("z", None),
    ]
    assert len(notes) == 1 and notes[0].origin == "1.conf:1"
    assert notes[0].severity is Severity.WARNING


def test_identical_duplicates_are_silent() -> None:
    groups, notes = merge(parsed("d /run/x 0700", "d /run/x 0700"), Selection())
    assert notes == [] and len(groups["/run/x"]) == 1


def test_prefixes() -> None:
    files = parsed("d /run/a\nd /dev/b\nd /var/c")
    groups, _ = merge(files, Selection(exclude_prefixes=("/dev",)))
    assert set(groups) == {"/run/a", "/var/c"}
    groups, _ = merge(files, Selection(prefixes=("/var",)))
    assert set(groups) == {"/var/c"}
