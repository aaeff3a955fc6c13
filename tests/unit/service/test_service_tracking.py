import subprocess
from pathlib import Path

from guestinit.service.tracking import ProcessTable, signal_all, signal_process, start_time


def write_stat(
    proc: Path, pid: int, ppid: int, session: int, name: str = "x", state: str = "S"
) -> None:
    folder = proc / str(pid)
    folder.mkdir()
    (folder / "stat").write_text(f"{pid} ({name}) {state} {ppid} {pid} {session} 0 -1 4194560\n")


def test_members_are_sessions_plus_descendants(tmp_path: Path) -> None:
    write_stat(tmp_path, 1, 0, 1, "init")
    write_stat(tmp_path, 10, 1, 10, "main")  # the unit's main process, its own session
    write_stat(tmp_path, 11, 10, 10, "worker")  # same session
    write_stat(tmp_path, 12, 10, 12, "daemon) (x")  # setsid again, but below main
    write_stat(tmp_path, 13, 12, 12)  # below that
    write_stat(tmp_path, 20, 1, 10, "orphan")  # re-parented to init, still in the session
    write_stat(tmp_path, 30, 1, 30, "other")  # another unit
    write_stat(tmp_path, 31, 10, 10, "zombie", state="Z")
    write_stat(tmp_path, 14, 11, 14, "grandchild")  # setsid below a session member
    (tmp_path / "self").mkdir()
    table = ProcessTable.scan(str(tmp_path))
    assert table.members({10}, {10}) == {10, 11, 12, 13, 14, 20}
    assert table.members({30}, set()) == {30}
    assert table.members({99}, {99}) == set()


def test_start_times_are_read_where_stat_has_them(tmp_path: Path) -> None:
    write_stat(tmp_path, 10, 1, 10)  # a short line: no start time field
    folder = tmp_path / "11"
    folder.mkdir()
    fields = ["S", "1", "11", "11", *["0"] * 15, "98765", "0"]
    (folder / "stat").write_text(f"11 (long) {' '.join(fields)}\n")
    table = ProcessTable.scan(str(tmp_path))
    assert table.starts == {11: 98765}
    assert start_time(11, str(tmp_path)) == 98765
    assert start_time(10, str(tmp_path)) is None
    assert start_time(12, str(tmp_path)) is None


def test_a_signal_reaches_a_process_only_while_it_is_the_same_one() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        started = start_time(child.pid)
        assert started is not None
        # Another start time: the pid was freed and reused since it was seen.
        assert not signal_process(child.pid, 15, started + 1)
        assert child.poll() is None
        assert signal_all({child.pid}, 15, {child.pid: started}) == 1
        assert child.wait(timeout=10) == -15
        assert not signal_process(child.pid, 15, None)  # reaped: gone
    finally:
        child.kill()
        child.wait()
