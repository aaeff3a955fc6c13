"""The one loop of PID 1: wait for a signal or the next deadline, turn what
happened into events, let the model decide, execute its actions.

Nothing here blocks except ``poll`` itself, and no exception ends the loop
before the main process is reaped and the drain is over.
"""

import os
import select
import time

from guestinit import _log
from guestinit._sig import sig
from guestinit._signames import describe, signal_name
from guestinit.config import InitConfig
from guestinit.pid1 import drain, model, prctl, reaper
from guestinit.pid1.notify import ParentNotifier
from guestinit.pid1.signals import SignalSource
from guestinit.pid1.spawn import spawn_main

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# After an unexpected exception the next turn comes after this long even if no
# signal arrives: the failed turn may have consumed the wakeup (a SIGCHLD whose
# reap never happened), and a persistent fault must not spin the CPU either.
_RETRY_AFTER_FAULT_MS = 50

_TINI_NOT_REAPING = (
    "Tini is not running as PID 1 and isn't registered as a child subreaper.\n"
    "Zombie processes will not be re-parented to Tini, so zombie reaping won't work.\n"
    "To fix the problem, use the -s option or set the environment variable TINI_SUBREAPER"
    " to register Tini as a child subreaper, or run Tini as PID 1."
)


def run(config: InitConfig) -> int:
    """Be init for ``config.command``; returns the exit code to exit with."""
    log = config.log
    signals = SignalSource()
    if config.parent_death_signal:
        prctl.set_parent_death_signal(config.parent_death_signal)
    reaping_all = _arrange_reaping(config)
    notifier = ParentNotifier.from_environment(log)
    pid = spawn_main(config, signals)
    # From here on a child exists: nothing may raise out of this function
    # before it is reaped and the drain is over.
    _guarded(log, lambda: _log_spawned(log, config.command[0], pid))
    _guarded(log, lambda: notifier.send("READY=1"))
    drains = os.getpid() == 1 or (reaping_all and config.drain_as_subreaper)
    policy = model.Policy(config, drain=drains)
    code = Loop(config, signals, notifier, policy, pid).run()
    _guarded(log, lambda: notifier.send(f"EXIT_STATUS={code}"))
    return code


def _guarded(log: _log.Log, step: "Callable[[], None]") -> None:
    try:
        step()
    except Exception:
        _log.print_traceback(log, "unexpected error (going on)")


def _arrange_reaping(config: InitConfig) -> bool:
    """True when every descendant will end up our child: we are PID 1, or a
    subreaper."""
    if os.getpid() == 1:
        return True
    if config.subreaper:
        try:
            prctl.become_subreaper()
            config.log.trace("Registered as child subreaper")
            return True
        except OSError as error:
            config.log.warning(f"cannot become child subreaper: {error.strerror}")
            return False
    if config.log.style == _log.TINI:
        config.log.warning(_TINI_NOT_REAPING)
    return False


def _log_spawned(log: _log.Log, name: str, pid: int) -> None:
    if log.style == _log.TINI:
        log.info(f"Spawned child process '{name}' with pid '{pid}'")
    elif log.style == _log.DUMB_INIT:
        log.debug(f"Child spawned with PID {pid}.")
    else:
        log.info(f"started main process {pid}: {name}")


class Loop:
    def __init__(
        self,
        config: InitConfig,
        signals: SignalSource,
        notifier: ParentNotifier,
        policy: model.Policy,
        main_pid: int,
    ) -> None:
        self._log = config.log
        self._signals = signals
        self._notifier = notifier
        self._policy = policy
        self._state = model.start(main_pid)
        self._exit_code: int | None = None
        self._faulted = False
        self._poller = select.poll()
        self._poller.register(signals.fileno(), select.POLLIN)

    def run(self) -> int:
        while self._exit_code is None:
            try:
                self._turn()
                self._faulted = False
            except Exception:
                _log.print_traceback(self._log, "unexpected error in the main loop (going on)")
                self._faulted = True
        return self._exit_code

    def _turn(self) -> None:
        self._poller.poll(self._timeout_ms())
        events: list[model.Event] = []
        for number in self._signals.read():
            self._log.trace(f"Received {signal_name(number)}")
            if number != sig.SIGCHLD:
                events.append(model.Signal(number))
        reaped, none_left = reaper.reap()
        events.extend(model.Reaped(pid, status) for pid, status in reaped)
        if none_left:
            events.append(model.NoChildren())
        events.append(model.Tick())
        for event in events:
            # One event's fault must not drop the others: reaped statuses
            # cannot be read from the kernel twice.
            try:
                now = time.monotonic()
                self._state, actions = model.step(self._state, event, now, self._policy)
            except Exception:
                _log.print_traceback(self._log, f"while handling {event!r} (going on)")
                continue
            for action in actions:
                self._execute(action)

    def _timeout_ms(self) -> int | None:
        retry = _RETRY_AFTER_FAULT_MS if self._faulted else None
        if self._state.deadline is None:
            return retry  # idle: sleep until a signal arrives, zero wakeups
        remaining = max(0, int((self._state.deadline - time.monotonic()) * 1000) + 1)
        return remaining if retry is None else min(remaining, retry)

    def _execute(self, action: model.Action) -> None:
        try:
            if isinstance(action, model.Forward):
                self._forward(action)
            elif isinstance(action, model.SignalRest):
                reached = drain.signal_everyone_else(action.number)
                self._log.debug(f"sent {signal_name(action.number)} to remaining processes")
                self._log.trace(f"{reached} reached")
            elif isinstance(action, model.Notify):
                self._notifier.send(action.text)
            elif isinstance(action, model.Log):
                self._log.emit(action.level, action.text)
            elif isinstance(action, model.Exit):
                self._exit_code = action.code
        except Exception:
            _log.print_traceback(self._log, f"while executing {action!r} (going on)")

    def _forward(self, action: model.Forward) -> None:
        if self._log.style == _log.TINI:
            self._log.debug(f"Passing signal: '{describe(action.number)}'")
        elif self._log.style == _log.DUMB_INIT:
            self._log.debug(f"Forwarded signal {action.number} to children.")
        else:
            self._log.debug(f"forwarding {signal_name(action.number)} to {action.pid}")
        try:
            os.kill(action.pid, action.number)
        except ProcessLookupError:
            self._log.debug(f"{action.pid} is gone; {signal_name(action.number)} not delivered")
