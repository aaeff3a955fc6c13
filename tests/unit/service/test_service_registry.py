from pathlib import Path

from guestinit import _log
from guestinit.service.registry import Registry


def registry(tmp_path: Path) -> Registry:
    (tmp_path / "real.service").write_text("[Service]\nExecStart=/bin/true\n")
    return Registry((str(tmp_path),), str(tmp_path / "enabled"), _log.Log(_log.ERROR))


def test_names_without_files_are_answered_not_kept(tmp_path: Path) -> None:
    units = registry(tmp_path)
    for number in range(200):
        ghost = units.get(f"nosuch{number}.service")
        assert ghost.spec is None and ghost.kind == "inert"
        assert units.get(f"nosuch{number}.target").kind == "target"
    assert units.units == {}
    assert units.get("real.service").spec is not None
    assert list(units.units) == ["real.service"]


def test_a_starts_missing_dependency_is_kept_to_fail_it(tmp_path: Path) -> None:
    units = registry(tmp_path)
    (tmp_path / "needy.service").write_text(
        "[Unit]\nRequires=gone.service\n[Service]\nExecStart=/bin/true\n"
    )
    assert units.closure(["needy.service"]) == ["needy.service", "gone.service"]
    assert units.units["gone.service"].load_error is not None


class Lines(_log.Log):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, level: int, text: str) -> None:
        self.lines.append(text)


def test_a_target_without_a_file_loads_without_a_word(tmp_path: Path) -> None:
    log = Lines()
    units = Registry((str(tmp_path),), str(tmp_path / "enabled"), log)
    assert units.load("basic.target").kind == "target"
    assert log.lines == []  # not even "N more diagnostics not shown"
