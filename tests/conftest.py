"""Fixtures shared by integration and system tests."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox import Sandbox

# Every guestinit a test starts shares this machine's root: its tmpfiles.d
# (systemd's "D /tmp" among them) must never be applied here. Tests of
# tmpfiles turn it on with a configuration of their own bound over it.
os.environ["GUESTINIT_TMPFILES"] = "off"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() == 0 and shutil.which("unshare"):
        return
    skip = pytest.mark.skip(reason="needs root and util-linux unshare (namespaces)")
    for item in items:
        if "/unit/" not in str(item.path):
            item.add_marker(skip)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A namespace sandbox for guestinit with units; every run is killed after."""
    box = Sandbox(tmp_path)
    yield box
    for run in box.runs:
        run.cleanup()
