"""KeptFiles on real cgroupfs: a kept descriptor rereads fresh values, and a
cgroup removed and made again at the same path is read anew, not as ENODEV."""

import os
import time
from pathlib import Path

import pytest
from procshim.files import KeptFiles

from tests.cgroups import own_path, v1_available

pytestmark = pytest.mark.skipif(not v1_available(), reason="needs cgroup v1")


def test_kept_cgroup_file_survives_remove_and_remake() -> None:
    parent = Path("/sys/fs/cgroup/memory") / own_path("memory").lstrip("/")
    group = parent / f"guestinit-kept-{os.getpid()}-{time.monotonic_ns()}"
    limit = str(group / "memory.limit_in_bytes")
    files = KeptFiles()
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(64 * 2**20))
        assert files.read(limit) == f"{64 * 2**20}\n"
        (group / "memory.limit_in_bytes").write_text(str(32 * 2**20))
        assert files.read(limit) == f"{32 * 2**20}\n"  # fresh through the kept descriptor
        group.rmdir()
        assert files.read(limit) is None  # ENODEV, then the path is gone
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(16 * 2**20))
        assert files.read(limit) == f"{16 * 2**20}\n"
    finally:
        files.close()
        if group.exists():
            group.rmdir()
