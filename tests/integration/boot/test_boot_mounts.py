"""The boot's mount steps for real, in a private mount namespace on a tmpfs root:
the API file systems, /dev links, fstab entries (nofail honoured), and the
shutdown's unmounts, innermost first."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")

FSTAB = """\
/dev/vda / ext4 rw 0 1
tmpfs /srv tmpfs size=4m,mode=0700 0 0
tmpfs /srv/inner tmpfs size=1m 0 0
/dev/guestinit-no-such-disk /mnt/data ext4 nofail 0 2
tmpfs /never tmpfs noauto 0 0
"""


def run_steps(tmp_path: Path) -> list[dict[str, Any]]:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "fstab").write_text(FSTAB)
    # --fork: the mounts die with the namespace even if the script fails half-way.
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--fork", sys.executable,
         str(HERE / "mount_steps.py"), str(root), str(tmp_path / "fstab")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # Nothing leaked into our own namespace.
    with open("/proc/self/mounts") as mounts:
        assert str(root) not in mounts.read()
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_api_fstab_and_unmounts(tmp_path: Path) -> None:
    report, links, after = run_steps(tmp_path)
    mounted = {target: fstype for target, fstype in report["mounted"]}
    for target, fstype in {
        "/proc": "proc", "/sys": "sysfs", "/dev": "devtmpfs", "/dev/pts": "devpts",
        "/dev/shm": "tmpfs", "/run": "tmpfs", "/tmp": "tmpfs", "/sys/fs/cgroup": "cgroup2",
        "/srv": "tmpfs", "/srv/inner": "tmpfs",
    }.items():  # fmt: skip
        assert mounted.get(target) == fstype, (target, report)
    assert "/never" not in mounted and "/mnt/data" not in mounted
    (failure,) = report["failures"]
    assert failure[:2] == ["/mnt/data", True]  # nofail: reported, boot goes on
    assert links["links"]["/dev/fd"] == "/proc/self/fd"
    # Everything below the root came off; only the root tmpfs itself is left.
    assert after == {"after": [["/", "tmpfs"]], "writable": []}
