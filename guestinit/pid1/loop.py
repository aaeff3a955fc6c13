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
from guestinit.pid1.spawn import missing_command, report_missing_command, spawn_main
from guestinit.pid1.tty import detach_controlling_tty, leave_working_directory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol
else:
    Protocol = object  # typing costs ~10 ms of start-up; the Protocol is for mypy

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
    """Be init for ``config.command`` (and the units, if any); returns the exit
    code to exit with."""
    return run_machine(config)[0]


def run_machine(
    config: InitConfig, extra: "Callable[[SignalSource], Services] | None" = None
) -> tuple[int, str | None]:
    """``run`` with one more Services part (VM mode: the power key and the network
    helper); returns the exit code and the power action asked for, if any."""
    log = config.log
    signals = SignalSource(config.signal_set, log)
    if config.parent_death_signal:
        prctl.set_parent_death_signal(config.parent_death_signal)
    reaping_all = _arrange_reaping(config)
    notifier = ParentNotifier.from_environment(log)
    if config.hints:  # before anything starts: the main process and services inherit them
        from guestinit.hints_system import apply

        apply(os.environ, log)
    drains = os.getpid() == 1 or (reaping_all and config.drain_as_subreaper)
    if config.command and config.services_factory is not None and not config.vm:
        # A main command that cannot run is said now, not after the units are up.
        missing = missing_command(config.command[0])
        if missing is not None:
            return report_missing_command(log, config.command[0], missing), None
    services = _build_services(config, signals, extra)
    policy = model.Policy(config, drain=drains, has_units=services is not None)
    loop = Loop(config, signals, notifier, policy, services)
    if config.command and (services is None or not config.wait_for_units):
        loop.spawn_main()
    if services is not None:
        _guarded(log, lambda: services.start(time.monotonic()))
    code = loop.run()
    _guarded(log, lambda: notifier.send(f"EXIT_STATUS={code}"))
    if services is not None:
        _guarded(log, services.close)
    return code, loop.power


class Services(Protocol):
    """What the loop needs from the service manager (guestinit.manager)."""

    def readers(self) -> "dict[int, Callable[[], None]]":
        """File descriptors to watch and what to call when one is readable."""

    def writers(self) -> "dict[int, Callable[[], None]]":
        """Descriptors with output waiting, and what to call when one is writable."""

    def next_deadline(self) -> float | None:
        """When the manager needs a ``tick``, monotonic seconds."""

    def tick(self, now: float) -> None: ...

    def claim(self, pid: int, status: int, now: float) -> bool:
        """Take a reaped process if it belongs to a unit."""

    def start(self, now: float) -> None: ...

    def stop_all(self, now: float) -> None: ...

    def events(self) -> "list[model.Event]":
        """UnitsReady, UnitsStopped or ExitRequested, each reported once."""

    def has_events(self) -> bool:
        """Events are waiting: the loop must not sleep before taking them."""

    def main_spawned(self, pid: int) -> None:
        """The container's main process started as ``pid`` (no unit may claim it)."""

    def close(self) -> None: ...


def _build_services(
    config: InitConfig,
    signals: SignalSource,
    extra: "Callable[[SignalSource], Services] | None" = None,
) -> "Services | None":
    """The service manager, the resource shim's keeper and ``extra`` (as one), or None."""
    built = [_build_manager(config, signals), _build_shim(config, signals)]
    if extra is not None:
        built.append(extra(signals))
    parts = [p for p in built if p]
    if len(parts) < 2:
        return parts[0] if parts else None
    from guestinit.pid1.combined import CombinedServices

    return CombinedServices(parts)


def _build_manager(config: InitConfig, signals: SignalSource) -> "Services | None":
    """The service manager, or None: a manager that cannot even start (its
    sockets cannot be made) is reported, and the main process runs anyway."""
    if config.services_factory is None:
        return None
    try:
        return config.services_factory(config.log, signals)
    except Exception:
        _log.print_traceback(config.log, "cannot start the service manager; running without units")
        return None


def _build_shim(config: InitConfig, signals: SignalSource) -> "Services | None":
    if config.procshim == "off":
        return None  # the plain `guestinit -- cmd` path imports nothing more
    try:
        from guestinit.shim.factory import build_keeper

        return build_keeper(config.procshim, config.log, signals)
    except Exception:
        _log.print_traceback(config.log, "cannot start the resource shim; going on without it")
        return None


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
    if _inherited_subreaper(config.log):
        return True
    if config.log.style == _log.TINI:
        config.log.warning(_TINI_NOT_REAPING)
    return False


def _inherited_subreaper(log: _log.Log) -> bool:
    """Whoever exec'd us may have made this process a subreaper already."""
    try:
        return prctl.is_subreaper()
    except OSError as error:
        log.debug(f"Failed to read child subreaper attribute: {error.strerror}")
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
        services: Services | None = None,
    ) -> None:
        self._config = config
        self._log = config.log
        self._signals = signals
        self._notifier = notifier
        self._policy = policy
        self._services = services
        # With a command we are BOOTING until it runs; without one (units only)
        # RUNNING until told to stop.
        self._state = model.booting() if config.command else model.start(None)
        self._exit_code: int | None = None
        self._faulted = False
        self._poller = select.poll()
        self._poller.register(signals.fileno(), select.POLLIN)
        fault_fd = signals.fault_fileno()
        if fault_fd is not None:
            self._poller.register(fault_fd, select.POLLIN)
        # dumb-init's terminal hand-off: signals to let pass once each.
        self._ignore_once: set[int] = set()
        self._readers: dict[int, Callable[[], None]] = {}
        self._writers: dict[int, Callable[[], None]] = {}
        self._watched: dict[int, int] = {}
        self._none_left = False

    @property
    def power(self) -> str | None:
        """What a machine's init was asked to do at the end (None: just exit)."""
        return self._state.power

    def spawn_main(self) -> None:
        """Start the main process now (at once, or when the units are ready)."""
        if self._config.tty_hand_off:
            self._ignore_once = detach_controlling_tty(self._log)
        old_cwd = leave_working_directory(self._log) if self._config.leave_cwd else None
        try:
            pid = spawn_main(self._config, self._signals, old_cwd)
        finally:
            if old_cwd is not None:
                os.close(old_cwd)
        if self._services is not None:
            self._call(lambda: self._services.main_spawned(pid) if self._services else None)
        self._handle(model.MainSpawned(pid))
        _guarded(self._log, lambda: _log_spawned(self._log, self._config.command[0], pid))
        _guarded(self._log, lambda: self._notifier.send("READY=1"))

    def run(self) -> int:
        while self._exit_code is None:
            try:
                self._turn()
                self._faulted = False
            except Exception:
                _log.print_traceback(self._log, "unexpected error in the main loop (going on)")
                self._faulted = True
        self._log.trace("Exiting: child has exited" if self._log.style == _log.TINI else "exiting")
        return self._exit_code

    def _turn(self) -> None:
        self._sync_readers()
        ready = self._poller.poll(self._timeout_ms())
        now = time.monotonic()
        for fd, flags in ready:
            callback = self._readers.get(fd)
            if callback is None or (flags & select.POLLOUT and fd in self._writers):
                callback = self._writers.get(fd, callback)
            if callback is not None:
                self._call(callback)
        events: list[model.Event] = []
        for number in self._signals.read():
            if self._received(number) and number != sig.SIGCHLD:
                events.append(model.Signal(number))
        reaped, none_left = reaper.reap()
        # Nothing below us is left: signalling "the rest" would walk /proc for nothing.
        self._none_left = none_left
        for pid, status in reaped:
            if self._services is None or not self._claimed(pid, status, now):
                events.append(model.Reaped(pid, status))
        if self._services is not None:
            self._call(lambda: self._services.tick(now) if self._services else None)
            events.extend(self._services.events())
        if none_left:
            events.append(model.NoChildren())
        events.append(model.Tick())
        for event in events:
            self._handle(event)
        if self._log.style == _log.TINI:  # tini's line at the end of each reaping round
            self._log.trace("No child to wait" if none_left else "No child to reap")
        # Actions may have made the manager report more (StopUnits finding
        # nothing to stop): handle that now, not at the next wakeup.
        while self._services is not None and (more := self._services.events()):
            for event in [*more, *([model.NoChildren()] if none_left else [])]:
                self._handle(event)

    def _handle(self, event: model.Event) -> None:
        if isinstance(event, model.UnitsReady) and not self._config.command:
            # Units only: the container is ready when they are.
            _guarded(self._log, lambda: self._notifier.send("READY=1"))
        # One event's fault must not drop the others: reaped statuses
        # cannot be read from the kernel twice.
        try:
            now = time.monotonic()
            self._state, actions = model.step(self._state, event, now, self._policy)
        except Exception:
            _log.print_traceback(self._log, f"while handling {event!r} (going on)")
            return
        for action in actions:
            self._execute(action)

    def _received(self, number: int) -> bool:
        """Log a signal as the emulated tool does; False if it is to be dropped."""
        style = self._log.style
        if style == _log.DUMB_INIT:
            self._log.debug(f"Received signal {number}.")
        elif style == _log.TINI:
            if number == sig.SIGCHLD:
                self._log.debug("Received SIGCHLD")
        else:
            self._log.trace(f"Received {signal_name(number)}")
        if number in self._ignore_once:
            self._ignore_once.discard(number)
            self._log.debug(f"Ignoring tty hand-off signal {number}.")
            return False
        return True

    def _claimed(self, pid: int, status: int, now: float) -> bool:
        assert self._services is not None
        try:
            return self._services.claim(pid, status, now)
        except Exception:
            _log.print_traceback(self._log, f"while handing process {pid} to its unit")
            return True  # it was a unit's; the init model would misread it

    def _call(self, callback: "Callable[[], object]") -> None:
        try:
            callback()
        except Exception:
            _log.print_traceback(self._log, "unexpected error in a handler (going on)")

    def _sync_readers(self) -> None:
        if self._services is None:
            return
        try:
            readers, writers = self._services.readers(), self._services.writers()
        except Exception:
            _log.print_traceback(self._log, "while listing the manager's descriptors")
            return
        wanted = {fd: select.POLLIN for fd in readers}
        for fd in writers:
            wanted[fd] = wanted.get(fd, 0) | select.POLLOUT
        for fd in self._watched.keys() - wanted.keys():
            self._poller.unregister(fd)
        for fd, mask in wanted.items():
            if fd not in self._watched:
                self._poller.register(fd, mask)
            elif self._watched[fd] != mask:
                self._poller.modify(fd, mask)
        self._watched, self._readers, self._writers = wanted, dict(readers), dict(writers)

    def _timeout_ms(self) -> int | None:
        if self._services is not None and self._services.has_events():
            return 0  # e.g. UnitsReady from the start of units that spawn nothing
        retry = _RETRY_AFTER_FAULT_MS if self._faulted else None
        deadlines = [self._state.deadline]
        if self._services is not None:
            deadlines.append(self._services.next_deadline())
        due = [d for d in deadlines if d is not None]
        if not due:
            return retry  # idle: sleep until a signal or a descriptor, zero wakeups
        remaining = max(0, int((min(due) - time.monotonic()) * 1000) + 1)
        return remaining if retry is None else min(remaining, retry)

    def _execute(self, action: model.Action) -> None:
        try:
            if isinstance(action, model.Forward):
                self._forward(action)
            elif isinstance(action, model.SignalRest) and not self._none_left:
                reached = drain.signal_everyone_else(action.number)
                self._log.debug(f"sent {signal_name(action.number)} to remaining processes")
                self._log.trace(f"{reached} reached")
            elif isinstance(action, model.Notify):
                self._notifier.send(action.text)
            elif isinstance(action, model.Log):
                self._log.emit(action.level, action.text)
            elif isinstance(action, model.Exit):
                self._exit_code = action.code
            elif isinstance(action, model.SuspendSelf):
                self._log.debug("Suspending self due to TTY signal.")
                os.kill(os.getpid(), sig.SIGSTOP)
            elif isinstance(action, model.SpawnMain):
                self.spawn_main()
            elif isinstance(action, model.StopUnits) and self._services is not None:
                self._services.stop_all(time.monotonic())
        except Exception:
            _log.print_traceback(self._log, f"while executing {action!r} (going on)")

    def _forward(self, action: model.Forward) -> None:
        style = self._log.style
        if style == _log.TINI:
            self._log.debug(f"Passing signal: '{describe(action.number)}'")
        elif style == _log.DUMB_INIT:
            if action.received != action.number:
                self._log.debug(f"Translating signal {action.received} to {action.number}.")
        else:
            self._log.debug(f"forwarding {signal_name(action.number)} to {action.pid}")
        try:
            os.kill(action.pid, action.number)
        except ProcessLookupError:
            if style == _log.TINI:
                self._log.warning("Child was dead when forwarding signal")
            elif style != _log.DUMB_INIT:
                self._log.debug(f"{action.pid} is gone; {signal_name(action.number)} not delivered")
        if style == _log.DUMB_INIT:
            self._log.debug(f"Forwarded signal {action.number} to children.")
