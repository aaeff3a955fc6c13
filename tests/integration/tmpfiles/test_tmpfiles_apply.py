"""guestinit's systemd-tmpfiles on real directory trees (``--root``), side by
side with the machine's real systemd-tmpfiles where it is installed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REAL = shutil.which("systemd-tmpfiles", path="/usr/bin:/bin")
CONFIG = r"""
d /run/mysqld 0755 mysql root -
d /run/haproxy 2775 haproxy haproxy -
d /existing 0750 - -
d /deep/a/b 0700 nobody -
f /f1 0600 - - - hello
f+ /f2 - - - - "two words"
F /f3 - - - - x\ty
w /wfile - - - - new
w+ /wfile - - - - ignored
L /link - - - - /target
C /copied - - - - /factory
p /fifo 0600
r /rmme*
R /rmdir
D /Ddir 0711
z /f1 0640 nobody
e /existing 0750 - -
Z /tree 0640 nobody -
f /esc - - - - a\x41\101%%
d /run/m/%U
r! /boot-only
x /ignored
"""


def tree(root: Path) -> None:
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group"):
        shutil.copy(f"/etc/{name}", root / "etc" / name)
    (root / "existing").mkdir(mode=0o700)
    (root / "factory").mkdir()
    (root / "factory" / "data").write_text("from the factory\n")
    (root / "wfile").write_text("old\n")
    (root / "rmdir" / "sub").mkdir(parents=True)
    (root / "rmdir" / "sub" / "x").touch()
    for name in ("rmme1", "rmme2", "boot-only"):
        (root / name).touch()
    (root / "Ddir" / "a").mkdir(parents=True)
    (root / "Ddir" / "a" / "b").touch()
    (root / "tree" / "sub").mkdir(parents=True)
    (root / "tree" / "sub" / "leaf").touch()


def listing(root: Path) -> list[str]:
    rows = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] == "etc":
            continue
        info = path.lstat()
        content = ""
        if path.is_symlink():
            content = os.readlink(path)
        elif path.is_file():
            content = path.read_bytes().decode()
        rows.append(f"{relative} {oct(info.st_mode)} {info.st_uid}:{info.st_gid} {content!r}")
    return rows


def ours(*args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "guestinit", "tmpfiles", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(REAL is None, reason="no real systemd-tmpfiles on this machine")
def test_the_same_tree_as_the_real_systemd_tmpfiles(tmp_path: Path) -> None:
    assert REAL is not None
    for name in ("real", "ours"):
        tree(tmp_path / name)
    config = tmp_path / "conf.conf"
    config.write_text(CONFIG)
    real = subprocess.run(
        [REAL, f"--root={tmp_path / 'real'}", "--create", "--remove", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    mine = ours(f"--root={tmp_path / 'ours'}", "--create", "--remove", str(config))
    assert listing(tmp_path / "ours") == listing(tmp_path / "real")
    # Both report the w+ line after w for one path as a duplicate, and go on.
    assert (mine.returncode, real.returncode) == (0, 0), mine.stderr + real.stderr
    assert "conf.conf:10: duplicate line" in mine.stderr
    assert (tmp_path / "ours" / "boot-only").exists()  # r! only with --boot


def test_precedence_masking_and_errors_that_are_not_fatal(tmp_path: Path) -> None:
    root = tmp_path
    for folder in ("etc/tmpfiles.d", "run/tmpfiles.d", "usr/lib/tmpfiles.d"):
        (root / folder).mkdir(parents=True)
    lib = root / "usr/lib/tmpfiles.d"
    (lib / "a.conf").write_text("d /from-lib-a\n")
    (lib / "b.conf").write_text("d /from-lib-b\n")
    (lib / "c.conf").write_text("d /from-lib-c\ny /bogus\nd /after-bogus\n")
    (lib / "d.conf").write_text("f /blocked/file - - - - x\nd /after-failure\n")
    (root / "run/tmpfiles.d/a.conf").write_text("d /from-run-a\n")
    (root / "etc/tmpfiles.d/b.conf").symlink_to("/dev/null")
    (root / "blocked").write_text("a file where a directory should be\n")
    done = ours(f"--root={root}", "--create")
    made = {p.name for p in root.iterdir()}
    assert {"from-run-a", "from-lib-c", "after-bogus", "after-failure"} <= made
    assert not {"from-lib-a", "from-lib-b"} & made
    assert done.returncode == 73  # a line could not be carried out
    assert f"{lib}/c.conf:2: unknown line type" in done.stderr
    assert f"{lib}/d.conf:1: " in done.stderr


def test_a_postinst_style_call_by_file_name(tmp_path: Path) -> None:
    lib = tmp_path / "usr/lib/tmpfiles.d"
    lib.mkdir(parents=True)
    (lib / "pkg.conf").write_text("d /run/pkg 0750 - -\n")
    (lib / "other.conf").write_text("d /run/other\n")
    done = ours(f"--root={tmp_path}", "--create", "pkg.conf")
    assert done.returncode == 0, done.stderr
    assert oct((tmp_path / "run/pkg").stat().st_mode)[-3:] == "750"
    assert not (tmp_path / "run/other").exists()


def test_usage() -> None:
    assert ours().returncode == 1
    assert "--create" in ours("--help").stdout


def test_minus_makes_a_failure_a_warning_and_caret_lines_are_skipped(tmp_path: Path) -> None:
    config = tmp_path / "x.conf"
    (tmp_path / "blocked").write_text("a file, not a directory\n")
    config.write_text("d- /blocked/sub\nf^ /from-credential - - - - name\nd /made\n")
    done = ours(f"--root={tmp_path}", "--create", str(config))
    assert done.returncode == 0, done.stderr
    assert f"{config}:1: " in done.stderr  # still said
    assert not (tmp_path / "from-credential").exists() and (tmp_path / "made").is_dir()


@pytest.mark.skipif(REAL is None, reason="no real systemd-tmpfiles on this machine")
def test_this_machines_whole_tmpfiles_d_gives_the_same_tree(tmp_path: Path) -> None:
    """Every tmpfiles.d file installed here (systemd's own, dbus, podman...),
    applied at "boot" to two empty roots: by the real one and by ours."""
    assert REAL is not None
    configs = sorted(Path("/usr/lib/tmpfiles.d").glob("*.conf"))
    for name in ("real", "ours"):
        (tmp_path / name / "usr/lib/tmpfiles.d").mkdir(parents=True)
        (tmp_path / name / "etc").mkdir()
        for config in configs:
            shutil.copy(config, tmp_path / name / "usr/lib/tmpfiles.d" / config.name)
        for table in ("passwd", "group"):
            shutil.copy(f"/etc/{table}", tmp_path / name / "etc" / table)
    flags = ["--create", "--remove", "--boot", "--exclude-prefix=/dev"]
    real = subprocess.run(
        [REAL, f"--root={tmp_path / 'real'}", *flags], capture_output=True, text=True, check=False
    )
    mine = ours(f"--root={tmp_path / 'ours'}", *flags)
    assert listing(tmp_path / "ours") == listing(tmp_path / "real")
    assert (mine.returncode, real.returncode) == (0, 0), mine.stderr + real.stderr
