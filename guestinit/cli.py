"""Command line of ``guestinit`` (and, by the name it is run under, of ``tini``
and ``dumb-init``). Parsing only: the work happens in pid1/."""

import os
import sys

from guestinit import __version__, _argv, _log
from guestinit._signames import parse_signal
from guestinit.config import SESSION, InitConfig
from guestinit.shim.mode import parse_mode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping

    from guestinit.config import ServicesFactory
    from guestinit.pid1.loop import Services
    from guestinit.pid1.signals import SignalSource

USAGE = """\
usage: guestinit [OPTIONS] [--] [COMMAND [ARGS...]]
       guestinit ctl VERB [ARGS...]      (see guestinit ctl --help)
       guestinit hints [--pid PID] [--json]  (runtime hints as export lines)

Run COMMAND as the main process: reap zombies, forward signals, exit with its code.
Units placed in /etc/guestinit/units (or given with --start) run beside it; the
command starts once they are up. Without a COMMAND, run the units until stopped.

options:
  -g, --process-group     forward signals to the main process's process group
  --rewrite SIG:SIG       rewrite a received signal before forwarding (repeatable;
                          SIG:0 drops it), e.g. --rewrite TERM:QUIT
  -e, --success-exit CODE exit 0 when the main process exits with CODE (repeatable)
  --grace SECONDS         time everything still running gets between SIGTERM and
                          SIGKILL when stopping (default 5; GUESTINIT_GRACE)
  --setsid                start the main process in a new session, not just a
                          new process group
  --no-subreaper          when not PID 1, do not become child subreaper
  -p, --parent-death-signal SIG
                          signal we receive when our parent dies
  --unit-path DIR         where unit files are looked up (repeatable; default
                          /etc/guestinit/units /etc/systemd/system /lib/systemd/system
                          and the shipped units; GUESTINIT_UNIT_PATH, colon-separated)
  --start UNIT            start UNIT (and what it pulls in) too (repeatable)
  --exit-on UNIT          exit when UNIT stops or fails, with its status (repeatable)
  --no-wait               start COMMAND at once, not after the units are up
  --control-socket PATH   where `guestinit ctl` connects (default
                          /run/guestinit/control.sock; GUESTINIT_CONTROL_SOCKET)
  --control-group GROUP   members of GROUP may use the control socket (default: root only)
  --log-format FMT        service lines on stdout: prefixed (UNIT[PID]: line, default),
                          plain, json, or a template with {unit} {pid} {time} {message}
  --log-dir DIR           also keep DIR/UNIT.log per unit, rotated by size
  --log-max-size SIZE     rotate a unit's log file past SIZE (default 10M)
  --log-files N           rotated files kept per unit (default 5)
  --syslog-socket PATH    the built-in syslog's socket when no syslog daemon is started
                          (default /dev/log as PID 1, none otherwise; "none" turns it off)
  --syslog-min-severity L drop syslog messages less severe than L (default debug)
  --no-unit-cgroups       track units by session only, never make a cgroup per unit
  --procshim MODE         the resource shim (cgroup-true /proc/meminfo, cpuinfo, ...):
                          auto (default: as PID 1 when /dev/fuse and CAP_SYS_ADMIN are
                          there), on, off, or required (fatal if it cannot run);
                          GUESTINIT_PROCSHIM
  --no-procshim           the same as --procshim off
  --vm                    VM guest mode even with container markers (only as the
                          machine's init; auto-detected otherwise): mount /proc, /sys,
                          /dev, fstab, hostname, network, power off at the end
  --no-vm                 never VM guest mode
  --hints                 give the main process and the services environment hints
                          from the cgroup limits (GOMAXPROCS, JAVA_TOOL_OPTIONS,
                          NODE_OPTIONS, ...) unless set already; GUESTINIT_HINTS=1
  --journal-socket PATH   journald's socket for StandardOutput=journal, used when it
                          listens (default /run/systemd/journal/socket)
  --tmpfiles MODE         apply tmpfiles.d at boot and on daemon-reload: auto (default:
                          as PID 1), on, off; GUESTINIT_TMPFILES
  --state-dir DIR         where state survives restarts: Persistent= timer stamps
                          (default /var/lib/guestinit)
  -v, --verbose           more messages (repeatable: info, debug, trace)
  -q, --quiet             errors only
  -V, --version           print the version and exit
  -h, --help              print this help and exit

environment: GUESTINIT_LOG_LEVEL=error|warning|info|debug|trace, GUESTINIT_GRACE,
GUESTINIT_UNIT_PATH, GUESTINIT_PROCSHIM, GUESTINIT_HINTS, GUESTINIT_TMPFILES.
exit status: the main process's; 128+N if it died of signal N; 126 not executable;
127 not found; 2 usage error.
"""

# What a usage error prints: the synopsis, not the whole --help.
SHORT_USAGE = USAGE.split("\n\n", 1)[0] + "\nTry 'guestinit --help' for more information.\n"

_SHORT = "ge:p:vqVh"
_LONG = {
    "process-group": "-g",
    "rewrite=": "--rewrite",
    "success-exit=": "-e",
    "grace=": "--grace",
    "setsid": "--setsid",
    "no-subreaper": "--no-subreaper",
    "unit-path=": "--unit-path",
    "start=": "--start",
    "exit-on=": "--exit-on",
    "no-wait": "--no-wait",
    "control-socket=": "--control-socket",
    "control-group=": "--control-group",
    "log-format=": "--log-format",
    "log-dir=": "--log-dir",
    "log-max-size=": "--log-max-size",
    "log-files=": "--log-files",
    "syslog-socket=": "--syslog-socket",
    "syslog-min-severity=": "--syslog-min-severity",
    "state-dir=": "--state-dir",
    "journal-socket=": "--journal-socket",
    "tmpfiles=": "--tmpfiles",
    "no-unit-cgroups": "--no-unit-cgroups",
    "procshim=": "--procshim",
    "no-procshim": "--no-procshim",
    "vm": "--vm",
    "no-vm": "--no-vm",
    "hints": "--hints",
    "parent-death-signal=": "-p",
    "verbose": "-v",
    "quiet": "-q",
    "version": "-V",
    "help": "-h",
}


def main(argv: list[str] | None = None) -> int:
    """Entry point: pick the personality from our name, parse, run as init."""
    argv = sys.argv if argv is None else argv
    argv = [typed_argv0(os.environ, argv[0] if argv else "guestinit"), *argv[1:]]
    name = os.path.basename(argv[0])
    if argv[1:2] == ["ctl"] and [w for w in argv[2:] if not w.startswith("-")][:1] == ["logs"]:
        from guestinit.control import journalctl  # its own options: -n, -f, --since

        return journalctl.ctl_main(argv[2:])
    if argv[1:2] == ["ctl"]:
        from guestinit.control import client

        return client.main(argv[2:])
    if argv[1:2] == ["hints"]:
        from guestinit import hints_system

        return hints_system.main(argv[2:])
    if argv[1:2] == ["tmpfiles"] or name == "systemd-tmpfiles":
        from guestinit.tmpfiles import command

        return command.main(argv[2:] if argv[1:2] == ["tmpfiles"] else argv[1:])
    if name == "journalctl":
        from guestinit.control import journalctl

        return journalctl.main(argv[1:])
    if name in ("systemctl", "runlevel"):
        from guestinit.control import systemctl

        return systemctl.main(argv[1:]) if name == "systemctl" else systemctl.runlevel()
    if name == "tini":
        from guestinit.compat import tini

        parsed: InitConfig | int = tini.parse(argv[1:], os.environ, argv[0])
    elif name == "dumb-init":
        from guestinit.compat import dumb_init

        parsed = dumb_init.parse(argv[1:], os.environ, argv[0])
    else:
        parsed = parse(argv[1:], os.environ)
    if isinstance(parsed, int):
        if parsed != 0 and _machine_init(os.environ, forced=False):
            # A machine's init must not exit (the kernel panics): the kernel's
            # words were no options of ours; boot as without any.
            fallback = parse([], os.environ)
            parsed = fallback if isinstance(fallback, InitConfig) else InitConfig([], vm=True)
        else:
            return parsed
    if parsed.vm:
        from guestinit.boot.run import run_vm

        return run_vm(parsed)
    from guestinit.pid1.loop import run

    return run(parsed)


ARGV0_VARIABLE = "GUESTINIT_ARGV0"


def typed_argv0(env: "MutableMapping[str, str]", fallback: str) -> str:
    """argv[0] as the user typed it: a launcher that keeps it (a script's
    interpreter sees only the script's path) passes it in GUESTINIT_ARGV0,
    which is removed at once so that no child ever inherits it."""
    typed = env.pop(ARGV0_VARIABLE, "")
    return typed or fallback


def _machine_init(env: "Mapping[str, str]", forced: bool) -> bool:
    """VM guest mode: PID 1 of the machine (never of a PID namespace); ``forced``
    (--vm) skips the container markers. Only PID 1 imports the probe."""
    if os.getpid() != 1:
        return False
    from guestinit.boot import detect

    return detect.is_machine_init(env, forced)


def parse(args: list[str], env: "Mapping[str, str]") -> InitConfig | int:
    """guestinit's own options -> InitConfig, or the exit code to stop with."""
    try:
        options, command = _argv.parse(args, _SHORT, _LONG)
        config = _build(options, command, env)
    except (_argv.UsageError, ValueError) as error:
        _log.write_quietly(2, f"guestinit: {error}\n{SHORT_USAGE}")
        return 2
    if isinstance(config, str):
        _log.write_quietly(1, config)
        return 0
    return config


def _build(
    options: list[tuple[str, str]], command: list[str], env: "Mapping[str, str]"
) -> InitConfig | str:
    level = _level_from_env(env.get("GUESTINIT_LOG_LEVEL", ""))
    kwargs: dict[str, object] = {"grace": _seconds(env.get("GUESTINIT_GRACE", "5"))}
    kwargs["procshim"] = parse_mode(env.get("GUESTINIT_PROCSHIM", "auto"))
    kwargs["hints"] = _flag_from_env("GUESTINIT_HINTS", env.get("GUESTINIT_HINTS", ""))
    rewrites: dict[int, int] = {}
    success: set[int] = set()
    unit_path: list[str] = []
    start: list[str] = []
    exit_on: list[str] = []
    vm_option = ""
    control: dict[str, str] = {}
    if env.get("GUESTINIT_CONTROL_SOCKET"):
        control["socket"] = env["GUESTINIT_CONTROL_SOCKET"]
    if env.get("GUESTINIT_TMPFILES"):
        control["tmpfiles"] = env["GUESTINIT_TMPFILES"]
    for option, value in options:
        if option == "-h":
            return USAGE
        if option == "-V":
            return f"guestinit {__version__}\n"
        if option == "-v":
            level += 1
        elif option == "-q":
            level = _log.ERROR
        elif option == "-g":
            kwargs["forward_to_group"] = True
        elif option == "--rewrite":
            received, forwarded = parse_rewrite(value)
            rewrites[received] = forwarded
        elif option == "-e":
            success.add(exit_code(value))
        elif option == "--grace":
            kwargs["grace"] = _seconds(value)
        elif option == "--setsid":
            kwargs["spawn_mode"] = SESSION
        elif option == "--no-subreaper":
            kwargs["subreaper"] = False
        elif option == "-p":
            kwargs["parent_death_signal"] = parse_signal(value)
        elif option == "--unit-path":
            unit_path.append(value)
        elif option == "--start":
            start.append(_unit_name(value))
        elif option == "--exit-on":
            exit_on.append(_unit_name(value))
            start.append(_unit_name(value))
        elif option == "--no-wait":
            kwargs["wait_for_units"] = False
        elif option == "--control-socket":
            control["socket"] = value
        elif option == "--control-group":
            control["group"] = value
        elif option == "--no-unit-cgroups":
            control["unit_cgroups"] = "no"
        elif option == "--procshim":
            kwargs["procshim"] = parse_mode(value)
        elif option == "--no-procshim":
            kwargs["procshim"] = "off"
        elif option in ("--vm", "--no-vm"):
            vm_option = option
        elif option == "--hints":
            kwargs["hints"] = True
        elif option in _LOG_OPTIONS:
            control[_LOG_OPTIONS[option]] = value
    vm = vm_option != "--no-vm" and _machine_init(env, forced=vm_option == "--vm")
    if vm_option == "--vm" and not vm:
        raise _argv.UsageError("--vm: not the machine's init (PID 1 of the first PID namespace)")
    kwargs["vm"] = vm
    if not unit_path and env.get("GUESTINIT_UNIT_PATH"):
        unit_path = [p for p in env["GUESTINIT_UNIT_PATH"].split(":") if p]
    units = _units_in_use(start, command)
    if units:
        log_options = _log_options(control)  # bad values are usage errors, found now
        kwargs["services_factory"] = _manager_factory(
            unit_path, start, exit_on, control, log_options
        )
    elif not command and not vm:
        raise _argv.UsageError("no command given and no units to run")
    log = _log.Log(min(level, _log.TRACE))
    return InitConfig(
        command,
        log=log,
        rewrites=rewrites,
        success_codes=frozenset(success),
        **kwargs,  # type: ignore[arg-type]
    )


ENABLED_DIR = "/etc/guestinit/units"

_LOG_OPTIONS = {
    "--log-format": "log_format",
    "--log-dir": "log_dir",
    "--log-max-size": "log_max_bytes",
    "--log-files": "log_keep",
    "--syslog-socket": "syslog_socket",
    "--syslog-min-severity": "syslog_min_severity",
    "--state-dir": "state_dir",
    "--journal-socket": "journal_socket",
    "--tmpfiles": "tmpfiles",
}
_SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


def _log_options(values: dict[str, str]) -> dict[str, object]:
    """The --log-* and --syslog-* values for ManagerOptions, checked."""
    from guestinit.logs.format import check_template

    options: dict[str, object] = {}
    if "log_format" in values:
        problem = check_template(values["log_format"])
        if problem:
            raise ValueError(problem)
        options["log_format"] = values["log_format"]
    for name in ("log_dir", "state_dir", "journal_socket"):
        if name in values:
            options[name] = values[name]
    tmpfiles = values.get("tmpfiles", "auto")
    if tmpfiles not in ("auto", "on", "off"):
        raise ValueError(f"--tmpfiles takes auto, on or off, got {tmpfiles!r}")
    options["tmpfiles"] = tmpfiles == "on" or (tmpfiles == "auto" and os.getpid() == 1)
    if values.get("unit_cgroups") == "no":
        options["unit_cgroups"] = False
    if "log_max_bytes" in values:
        options["log_max_bytes"] = _size(values["log_max_bytes"])
    if "log_keep" in values:
        options["log_keep"] = exit_code(values["log_keep"])
    socket = values.get("syslog_socket", "/dev/log" if os.getpid() == 1 else "none")
    options["syslog_socket"] = None if socket == "none" else socket
    if "syslog_min_severity" in values:
        level = values["syslog_min_severity"].lower()
        if level.isdigit() and int(level) < 8:
            options["syslog_min_severity"] = int(level)
        elif level in _SEVERITIES:
            options["syslog_min_severity"] = _SEVERITIES.index(level)
        else:
            raise ValueError(f"--syslog-min-severity takes one of {', '.join(_SEVERITIES)}")
    return options


def _size(text: str) -> int:
    units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
    number, suffix = text[:-1], text[-1:].upper()
    if suffix.isdigit():
        number, suffix = text, ""
    if not number.isdigit() or suffix not in units:
        raise ValueError(f"--log-max-size takes a size like 10M, got {text!r}")
    return int(number) * units[suffix]


def _units_in_use(start: list[str], command: list[str]) -> bool:
    """Units run when asked for, or when some are enabled (one cheap listdir:
    the plain ``guestinit -- cmd`` path must not load the service manager)."""
    if start:
        return True
    try:
        return any(not name.startswith(".") for name in os.listdir(ENABLED_DIR))
    except OSError:
        return False


def _manager_factory(
    unit_path: list[str],
    start: list[str],
    exit_on: list[str],
    control: dict[str, str],
    log_options: dict[str, object],
) -> "ServicesFactory":
    def build(log: _log.Log, signals: "SignalSource") -> "Services":
        from guestinit.manager import Manager, ManagerOptions
        from guestinit.service.registry import default_unit_path

        options = ManagerOptions(
            unit_path=tuple(unit_path) or default_unit_path(),
            start=tuple(start),
            exit_on=tuple(exit_on),
            control_socket=control.get("socket", "/run/guestinit/control.sock"),
            control_group=control.get("group"),
            **log_options,  # type: ignore[arg-type]  # checked by _log_options
        )
        return Manager(options, log, signals)

    return build


def _unit_name(word: str) -> str:
    """``web`` -> ``web.service``, as ``guestinit ctl`` and systemctl read it."""
    from guestinit.control.client import unit_name

    return unit_name(word)


def parse_rewrite(text: str) -> tuple[int, int]:
    """``TERM:QUIT`` or ``15:3`` -> (15, 3); ``X:0`` means drop X."""
    received, colon, forwarded = text.partition(":")
    if not colon:
        raise ValueError(f"--rewrite takes FROM:TO, got {text!r}")
    return parse_signal(received), 0 if forwarded.strip() == "0" else parse_signal(forwarded)


def exit_code(text: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= 255:
        raise ValueError(f"exit code must be 0-255, got {text!r}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--grace takes seconds, got {text!r}") from None
    if not value >= 0:
        raise ValueError(f"--grace must be >= 0, got {text!r}")
    return value


def _level_from_env(text: str) -> int:
    if not text:
        return _log.WARNING
    if text.lower() not in _log.LEVEL_NAMES:
        raise ValueError(f"GUESTINIT_LOG_LEVEL must be one of {', '.join(_log.LEVEL_NAMES)}")
    return _log.LEVEL_NAMES[text.lower()]


def _flag_from_env(name: str, text: str) -> bool:
    if text.lower() in ("", "0", "no", "false", "off"):
        return False
    if text.lower() in ("1", "yes", "true", "on"):
        return True
    raise ValueError(f"{name} must be 1 or 0, got {text!r}")
