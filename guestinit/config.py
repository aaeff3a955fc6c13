"""What the command line asks of PID 1: one plain, immutable-by-convention record.

A plain class rather than a frozen dataclass: ``dataclasses`` costs ~19 ms of
start-up (it imports ``inspect`` and ``re``); see the package docstring.
"""

from guestinit import _log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from guestinit.pid1.loop import Services
    from guestinit.pid1.signals import SignalSource

    ServicesFactory = Callable[[_log.Log, SignalSource], Services]

# How the main process is started.
PROCESS_GROUP = "process-group"  # setpgid + terminal foreground (tini, guestinit)
SESSION = "session"  # setsid + take the terminal (dumb-init)


class InitConfig:
    """Everything the PID-1 layer needs; built by cli.py or compat/."""

    __slots__ = (
        "command",
        "drain_as_subreaper",
        "exec_failure_code",
        "forward_to_group",
        "grace",
        "hints",
        "leave_cwd",
        "log",
        "parent_death_signal",
        "power_signals",
        "procshim",
        "rewrites",
        "services_factory",
        "signal_set",
        "spawn_mode",
        "stop_timeout",
        "subreaper",
        "success_codes",
        "suspend_on_tty_signals",
        "term_group_on_exit",
        "tty_hand_off",
        "vm",
        "wait_for_units",
        "warn_on_reap",
    )

    def __init__(
        self,
        command: list[str],
        *,
        log: _log.Log | None = None,
        forward_to_group: bool = False,
        rewrites: dict[int, int] | None = None,
        success_codes: frozenset[int] = frozenset(),
        grace: float = 5.0,
        stop_timeout: bool = True,
        subreaper: bool = True,
        drain_as_subreaper: bool = True,
        spawn_mode: str = PROCESS_GROUP,
        term_group_on_exit: bool = False,
        parent_death_signal: int = 0,
        exec_failure_code: int | None = None,
        warn_on_reap: bool = False,
        services_factory: "ServicesFactory | None" = None,
        wait_for_units: bool = True,
        procshim: str = "off",
        hints: bool = False,
        vm: bool = False,
        signal_set: str = "native",
        tty_hand_off: bool = False,
        leave_cwd: bool = False,
        suspend_on_tty_signals: bool = False,
    ) -> None:
        self.command = command
        self.log = log or _log.Log()
        # Send forwarded signals to the main process's group (-g).
        self.forward_to_group = forward_to_group
        # Signal received -> signal forwarded; 0 means "do not forward".
        self.rewrites = rewrites or {}
        # Exit codes of the main process reported as 0 (-e).
        self.success_codes = success_codes
        # Seconds everything still running gets between SIGTERM and SIGKILL.
        self.grace = grace
        # SIGTERM to us arms the grace deadline for the main process too.
        self.stop_timeout = stop_timeout
        # Become child subreaper when not PID 1.
        self.subreaper = subreaper
        # When not PID 1, drain our descendants after the main process exits.
        self.drain_as_subreaper = drain_as_subreaper
        self.spawn_mode = spawn_mode
        # dumb-init: SIGTERM the main process (its group with forward_to_group) once it exits.
        self.term_group_on_exit = term_group_on_exit
        # prctl(PR_SET_PDEATHSIG) for ourselves (tini -p).
        self.parent_death_signal = parent_death_signal
        # dumb-init exits 2 when exec fails; None means 126/127 like a shell.
        self.exec_failure_code = exec_failure_code
        # tini -w: a warning for every reaped process that is not the main one.
        self.warn_on_reap = warn_on_reap
        # Builds the service manager when units are in use (None: plain init).
        self.services_factory = services_factory
        # Start the main process only once the units are up (--no-wait: at once).
        self.wait_for_units = wait_for_units
        # The resource shim: auto|on|off|required (see guestinit.shim.mode).
        self.procshim = procshim
        # Set runtime environment hints from the cgroup limits (guestinit.hints).
        self.hints = hints
        # VM guest mode: boot the machine first, power it off at the end (guestinit.boot).
        self.vm = vm
        # VM mode: signal number -> "poweroff"/"reboot"/"halt" (set by guestinit.boot.run).
        self.power_signals: dict[int, str] = {}
        # Which signals are caught and forwarded: "native", "tini" or
        # "dumb-init" (see guestinit.pid1.signals).
        self.signal_set = signal_set
        # dumb-init: give our controlling terminal to the main process's session.
        self.tty_hand_off = tty_hand_off
        # dumb-init: chdir("/") once the main process runs.
        self.leave_cwd = leave_cwd
        # dumb-init: after forwarding TSTP/TTIN/TTOU, stop ourselves too.
        self.suspend_on_tty_signals = suspend_on_tty_signals
