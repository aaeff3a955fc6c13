from pathlib import Path

import pytest

from guestinit.shim import mode


def status(capeff: int) -> str:
    return f"Name:\tguestinit\nCapInh:\t0000000000000000\nCapEff:\t{capeff:016x}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("auto", "auto"), ("ON", "on"), ("yes", "on"), ("0", "off"), ("required", "required")],
)
def test_modes_parse(text: str, expected: str) -> None:
    assert mode.parse_mode(text) == expected


def test_a_bad_mode_names_the_choices() -> None:
    with pytest.raises(ValueError, match="auto, on, off, required"):
        mode.parse_mode("sometimes")


def test_auto_only_as_pid1_other_modes_anywhere() -> None:
    assert mode.wanted("auto", is_pid1=True)
    assert not mode.wanted("auto", is_pid1=False)
    assert mode.wanted("on", is_pid1=False)
    assert mode.wanted("required", is_pid1=False)
    assert not mode.wanted("off", is_pid1=True)


def test_capabilities(tmp_path: Path) -> None:
    missing = tmp_path / "fuse"
    assert "missing" in (mode.missing_capability(status(1 << 21), str(missing)) or "")
    missing.write_text("")
    assert "not the FUSE device" in (mode.missing_capability(status(1 << 21), str(missing)) or "")
    # /dev/null is a character device too, but not 10:229.
    assert "not the FUSE device" in (mode.missing_capability(status(1 << 21), "/dev/null") or "")


@pytest.mark.skipif(not Path("/dev/fuse").exists(), reason="needs /dev/fuse")
def test_capabilities_with_the_real_device() -> None:
    assert mode.missing_capability(status(1 << 21)) is None
    assert "CAP_SYS_ADMIN" in (mode.missing_capability(status(0xFF)) or "")
    assert "cannot read" in (mode.missing_capability("Name:\tx\n") or "")
