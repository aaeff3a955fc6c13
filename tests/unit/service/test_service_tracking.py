from pathlib import Path

from guestinit.service.tracking import ProcessTable


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
