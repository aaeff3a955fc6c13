from pathlib import Path

from guestinit.service.cgroups import UnitCgroups


def write_cgroup(proc: Path, pid: int, text: str) -> None:
    (proc / str(pid)).mkdir()
    (proc / str(pid) / "cgroup").write_text(text)


def test_unit_of_reads_the_pids_cgroup(tmp_path: Path) -> None:
    cgroups = UnitCgroups("/sys/fs/cgroup/pids/docker/abc/guestinit-1-a1b2c3")
    write_cgroup(tmp_path, 10, "5:pids:/docker/abc/guestinit-1-a1b2c3/web.service\n0::/\n")
    write_cgroup(tmp_path, 11, "5:pids:/docker/abc/guestinit-1-a1b2c3\n")  # ours, no unit's
    write_cgroup(tmp_path, 12, "5:pids:/docker/abc/guestinit-9-ffffff/web.service\n")
    write_cgroup(tmp_path, 13, "0::/guestinit-1-a1b2c3/db.service/sub\n")  # v2, below a unit
    proc = str(tmp_path)
    assert cgroups.unit_of(10, proc) == "web.service"
    assert cgroups.unit_of(11, proc) is None
    assert cgroups.unit_of(12, proc) is None  # another run's folder
    assert cgroups.unit_of(13, proc) == "db.service"
    assert cgroups.unit_of(14, proc) is None  # gone
