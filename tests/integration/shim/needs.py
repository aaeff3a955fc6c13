"""Why a real shim test cannot run here, or None: /dev/fuse, cgroup v1, a FUSE binding."""

import os

import pytest

from tests.cgroups import v1_available


def missing() -> str | None:
    if not os.path.exists("/dev/fuse"):
        return "needs /dev/fuse"
    if not v1_available():
        return "needs cgroup v1 (memory, cpu and cpuset hierarchies)"
    from procshim.binding import Unavailable, load_binding

    try:
        load_binding()
    except Unavailable as why:
        return str(why)
    return None


_WHY = missing()
SHIM_NEEDS = pytest.mark.skipif(_WHY is not None, reason=_WHY or "")
