from pathlib import Path

import pytest

from guestinit.boot.network_io import write_resolv


def test_write_resolv_replaces_a_dangling_link(tmp_path: Path) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.symlink_to(tmp_path / "resolver-daemon" / "resolv.conf")
    write_resolv(str(resolv), "nameserver 10.0.2.3\n")
    assert not resolv.is_symlink()
    assert resolv.read_text() == "nameserver 10.0.2.3\n"
    assert not (tmp_path / "resolv.conf.guestinit-new").exists()


def test_write_resolv_with_nothing_to_say_leaves_the_file(tmp_path: Path) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.1\n")
    write_resolv(str(resolv), None)
    assert resolv.read_text() == "nameserver 192.0.2.1\n"


def test_write_resolv_failure_is_said_not_raised(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    write_resolv(str(tmp_path / "missing-dir" / "resolv.conf"), "nameserver 10.0.2.3\n")
    assert "guestinit-network: cannot write" in capfd.readouterr().err
