"""service.pid_file for real: FIFOs, devices, folders and huge files never
block or bloat PID 1; ownership and symlinks decide trust (needs root to
chown)."""

import contextlib
import errno
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from guestinit.service.pid_file import MAX_BYTES, read_pid_file, read_regular_file

NOBODY = 65534


@contextlib.contextmanager
def must_not_block(seconds: int = 10) -> Iterator[None]:
    def blocked(*_: object) -> None:
        raise AssertionError("the read blocked")

    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_roots_file_is_trusted(tmp_path: Path) -> None:
    path = tmp_path / "pid"
    path.write_text(" 1234 \nsecond line\n")
    found = read_pid_file(str(path))
    assert (found.pid, found.trusted, found.owner, found.error) == (1234, True, 0, None)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "socket"])
def test_anything_but_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "pid"
    if kind == "fifo":
        os.mkfifo(path)  # open() for reading would wait for a writer forever
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    else:
        import socket

        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(path))
    with must_not_block():
        found = read_pid_file(str(path))
    assert found.pid is None and found.error == "not a regular file"
    with must_not_block(), pytest.raises(OSError) as raised:
        read_regular_file(str(path), 100)
    assert raised.value.errno in (errno.EINVAL, errno.ENXIO)


def test_a_huge_file_costs_one_bounded_read(tmp_path: Path) -> None:
    path = tmp_path / "pid"
    with path.open("wb") as out:
        out.write(b"77\n")
        out.truncate(256 * 1024 * 1024)  # sparse: 256 MiB that are never read
    assert read_pid_file(str(path)).pid == 77
    digits = tmp_path / "digits"
    digits.write_bytes(b"1" * (MAX_BYTES * 4))
    assert read_pid_file(str(digits)).error == "no pid in it"
    with pytest.raises(OSError) as raised:
        read_regular_file(str(path), 1024 * 1024)
    assert raised.value.errno == errno.EFBIG


def test_a_file_of_another_user_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "pid"
    path.write_text("55\n")
    os.chown(path, NOBODY, NOBODY)
    found = read_pid_file(str(path))
    assert (found.pid, found.trusted, found.owner) == (55, False, NOBODY)
    assert found.distrust == "the PID file belongs to uid 65534"


def test_roots_file_in_a_folder_others_can_change_is_not_trusted(tmp_path: Path) -> None:
    folder = tmp_path / "run-pf"
    folder.mkdir()
    (folder / "pid").write_text("56\n")
    os.chown(folder, NOBODY, NOBODY)  # RuntimeDirectory= of a User=nobody unit
    assert not read_pid_file(str(folder / "pid")).trusted
    assert "folder others can change" in read_pid_file(str(folder / "pid")).distrust
    os.chown(folder, 0, 0)
    folder.chmod(0o777)
    assert not read_pid_file(str(folder / "pid")).trusted
    folder.chmod(0o1777)  # sticky, like /tmp: nobody can replace root's file
    assert read_pid_file(str(folder / "pid")).trusted


def test_symlinks_are_followed_but_only_roots_are_trusted(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.write_text("57\n")
    (tmp_path / "by-root").symlink_to(target)
    assert read_pid_file(str(tmp_path / "by-root")) == read_pid_file(str(target))
    assert read_pid_file(str(tmp_path / "by-root")).trusted
    planted = tmp_path / "theirs"
    planted.mkdir()
    (planted / "pid").symlink_to(target)
    os.chown(planted, NOBODY, NOBODY)
    found = read_pid_file(str(planted / "pid"))
    assert (found.pid, found.trusted) == (57, False)
    # A folder link on the way counts too.
    (tmp_path / "via").symlink_to(planted)
    assert not read_pid_file(str(tmp_path / "via" / "pid")).trusted


def test_loops_missing_files_and_relative_paths_are_errors(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert read_pid_file(str(tmp_path / "a")).error == os.strerror(errno.ELOOP)
    assert read_pid_file(str(tmp_path / "none")).error == os.strerror(errno.ENOENT)
    assert read_pid_file("run/x.pid").error == "not an absolute path"
    (tmp_path / "file").write_text("1\n")
    assert read_pid_file(str(tmp_path / "file" / "pid")).error == os.strerror(errno.ENOTDIR)
    assert read_pid_file(str(tmp_path / "file" / ".." / "file")).error is not None
