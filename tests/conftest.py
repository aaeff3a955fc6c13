"""Fixtures shared by integration and system tests."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.sandbox import Sandbox

# Property tests run on a shared 2-core machine: a per-example deadline or the
# "data generation too slow" check would make them fail by the machine's load,
# not by what they test. Each test's own max_examples still bounds its work.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("shared-machine")


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
