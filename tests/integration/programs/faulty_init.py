"""guestinit's loop with injected faults: the reaper raises on its first two
calls and the parent notifier always raises. The loop must log each with its
traceback, go on, and still exit with the main process's code after the drain.
Usage: faulty_init.py CMD [ARGS...]
"""

import sys

from guestinit import _log
from guestinit.config import InitConfig
from guestinit.pid1 import loop, reaper
from guestinit.pid1.notify import ParentNotifier

real_reap = reaper.reap
calls = {"reap": 0}


def flaky_reap() -> tuple[list[tuple[int, int]], bool]:
    calls["reap"] += 1
    if calls["reap"] <= 2:
        raise RuntimeError(f"injected reaper fault {calls['reap']}")
    return real_reap()


def broken_send(self: ParentNotifier, text: str) -> None:
    raise OSError(f"injected notify fault for {text}")


reaper.reap = flaky_reap
ParentNotifier.send = broken_send  # type: ignore[method-assign]
config = InitConfig(sys.argv[1:], log=_log.Log(_log.INFO))
try:
    code = loop.run(config)
except BaseException as error:  # the test fails on this line in stderr
    print(f"loop.run raised {error!r}", file=sys.stderr)
    sys.exit(99)
sys.exit(code)
