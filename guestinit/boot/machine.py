"""The machine as one more part of PID 1's loop (pid1.loop.Services): the ACPI
power key's descriptors and the network helper process.

Ready at once (nothing waits for the network: sshd listens on all addresses and
takes connections as soon as an address exists); stopped when the helper is
gone (it gets SIGTERM from ``stop_all``, SIGKILL from the model's deadline).
"""

import contextlib
import functools
import os
import sys

from guestinit import _log
from guestinit._sig import sig
from guestinit.boot import powerkey
from guestinit.boot.power import Power
from guestinit.pid1 import model

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def import_root() -> str:
    """The sys.path entry guestinit was imported from (installed: /usr/lib/guestinit)."""
    import guestinit

    return os.path.dirname(os.path.dirname(os.path.abspath(guestinit.__file__)))


def spawn_network_helper() -> int:
    """The network helper (guestinit.boot.network), started during the boot, before
    the loop and the service manager exist: its pyroute2 import (2 s under TCG)
    then overlaps the manager's start on the other CPU. Signals are still at
    their defaults here, so the child needs no mask or dispositions reset."""
    code = (
        f"import sys; sys.path.insert(0, {import_root()!r}); "
        "from guestinit.boot.network import main; sys.exit(main())"
    )
    # -I without -S: a Debian python3-pyroute2 in dist-packages must stay visible.
    argv = [sys.executable, "-I", "-c", code]
    # Python ignores SIGPIPE and SIGXFSZ in itself; the helper gets the defaults.
    defaults = (int(sig.SIGPIPE), int(sig.SIGXFSZ))
    return os.posix_spawn(sys.executable, argv, dict(os.environ), setsid=True, setsigdef=defaults)


class Machine:
    def __init__(self, log: _log.Log, helper: int | None, proc: str = "/proc") -> None:
        self._log = log
        self._proc = proc
        self._keys: dict[int, str] = {}
        # The network helper's pid (spawn_network_helper), until it is reaped.
        self._helper = helper
        self._events: list[model.Event] = []
        self._stopping = False
        self._stopped_reported = False

    # ---- Services ------------------------------------------------------------------
    def start(self, now: float) -> None:
        self._keys = powerkey.open_power_keys(self._proc)
        if self._keys:
            self._log.info(f"power button: {', '.join(sorted(self._keys.values()))}")
        else:
            self._log.info("no power button device (modules button and evdev?)")
        self._events.append(model.UnitsReady())

    def readers(self) -> "dict[int, Callable[[], None]]":
        return {fd: functools.partial(self._read_key, fd) for fd in self._keys}

    def writers(self) -> "dict[int, Callable[[], None]]":
        return {}

    def next_deadline(self) -> float | None:
        return None

    def tick(self, now: float) -> None:
        self._report_stopped()

    def claim(self, pid: int, status: int, now: float) -> bool:
        if pid != self._helper:
            return False
        self._helper = None
        code = os.waitstatus_to_exitcode(status)
        if code == 0 or self._stopping:
            self._log.debug(f"network helper exited ({code})")
        else:
            self._log.warning(f"network helper failed ({code}); see its lines above")
        self._report_stopped()
        return True

    def stop_all(self, now: float) -> None:
        self._stopping = True
        if self._helper is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._helper, 15)
        self._report_stopped()

    def events(self) -> "list[model.Event]":
        events, self._events = self._events, []
        return events

    def has_events(self) -> bool:
        return bool(self._events)

    def main_spawned(self, pid: int) -> None:
        pass  # it claims only processes of its own

    def close(self) -> None:
        for fd in self._keys:
            os.close(fd)
        self._keys = {}

    # ---- inside ----------------------------------------------------------------------
    def _read_key(self, fd: int) -> None:
        try:
            data = os.read(fd, powerkey.EVENT.size * 64)
        except BlockingIOError:
            return
        except OSError as error:
            self._log.warning(f"{self._keys.get(fd)}: {error.strerror}; no longer watched")
            os.close(fd)
            self._keys.pop(fd, None)
            return
        if powerkey.presses(data):
            self._log.info(f"power button pressed ({self._keys.get(fd)})")
            self._events.append(model.ExitRequested(0, Power.POWEROFF.value))

    def _report_stopped(self) -> None:
        if self._stopping and self._helper is None and not self._stopped_reported:
            self._stopped_reported = True
            self._events.append(model.UnitsStopped())
