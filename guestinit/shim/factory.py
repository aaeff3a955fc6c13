"""Decide once at start-up whether PID 1 keeps a resource shim, and build its keeper."""

import os

from guestinit import _log
from guestinit.shim import mode as shim_mode
from guestinit.shim.keeper import ShimKeeper

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guestinit.pid1.signals import SignalSource

MOUNTPOINT = "/run/guestinit/procshim"


def build_keeper(
    mode: str, log: _log.Log, signals: "SignalSource", mountpoint: str = MOUNTPOINT
) -> ShimKeeper | None:
    """The keeper, or None when the shim is not wanted or this machine cannot
    mount it (said once, at warning level, unless it was asked for)."""
    if not shim_mode.wanted(mode, os.getpid() == 1):
        return None
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as file:
            why = shim_mode.missing_capability(file.read())
    except OSError as error:
        why = f"cannot read /proc/self/status: {error.strerror}"
    required = mode == shim_mode.REQUIRED
    if why is not None and not required:
        log.warning(f"resource shim off: {why}; --no-procshim silences this")
        return None
    from guestinit.shim.system import OsShimSystem

    system = OsShimSystem(log, signals, mountpoint)
    keeper = ShimKeeper(system, log, mountpoint, required, static=os.getpid() == 1)
    if why is not None:
        keeper.unavailable = why
    return keeper
