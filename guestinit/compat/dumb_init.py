"""dumb-init 1.2.5's command line: ``dumb-init [-c] [-r s:r]... [-v] PROGRAM [ARGS]``.

Its semantics kept: the main process gets its own session, our terminal and
signals go to its whole process group (unless ``-c`` or DUMB_INIT_SETSID=0),
TSTP/TTIN/TTOU stop that group and then us, SIGTERM goes to the group (or the
child) when the main process exits, a failed exec exits 2.
Differences on purpose: as PID 1 what is left then also gets GUESTINIT_GRACE
seconds (default 5) before SIGKILL instead of the kernel's immediate one.
"""

from guestinit import __version__, _argv, _log
from guestinit._sig import sig
from guestinit.config import PROCESS_GROUP, SESSION, InitConfig
from guestinit.pid1.signals import DUMB_INIT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

VERSION = "1.2.5"

SHORT_USAGE = """\
Usage: {prog} [option] program [args]
Try {prog} --help for full usage.
"""

HELP = f"""\
dumb-init v{VERSION} (guestinit {__version__} in dumb-init-compatible mode)
Usage: {{prog}} [option] command [[arg] ...]

Runs a command as a child, forwarding every signal to it, for containers.

Optional arguments:
   -c, --single-child   Forward signals to the direct child only, not to its
                        process group (and do not start a new session).
   -r, --rewrite s:r    Forward received signal s as signal r; r=0 drops it.
                        Repeatable.
   -v, --verbose        Debugging messages on stderr.
   -h, --help           This help, then exit.
   -V, --version        The version, then exit.
"""

_REWRITE_USAGE = """\
Usage: -r option takes <signum>:<signum>, where <signum> is between 1 and 31.
This option can be specified multiple times.
Use --help for full usage.
"""

_LONG = {"single-child": "-c", "rewrite=": "-r", "verbose": "-v", "version": "-V", "help": "-h"}


def parse(args: list[str], env: "Mapping[str, str]", prog: str = "dumb-init") -> InitConfig | int:
    """dumb-init's options -> InitConfig, or the exit code to stop with.
    ``prog`` is argv[0] as given: dumb-init's messages name it that way."""
    try:
        options, command = _argv.parse(args, "hvVcr:", _LONG)
    except _argv.UsageError as error:
        _log.write_quietly(2, f"{prog}: {error}\n")  # getopt's line only, as dumb-init
        return 1
    use_setsid = True
    debug = False
    rewrites: dict[int, int] = {}
    for option, value in options:
        if option == "-h":
            _log.write_quietly(2, HELP.format(prog=prog))
            return 0
        if option == "-V":
            _log.write_quietly(2, f"dumb-init v{VERSION}\n")
            return 0
        if option == "-c":
            use_setsid = False
        elif option == "-v":
            debug = True
        elif option == "-r":
            pair = _rewrite(value)
            if pair is None:
                _log.write_quietly(2, _REWRITE_USAGE)
                return 1
            rewrites[pair[0]] = pair[1]
    if not command:
        _log.write_quietly(2, SHORT_USAGE.format(prog=prog))
        return 1
    log = _log.Log(_log.DEBUG if debug else _log.WARNING, style=_log.DUMB_INIT)
    # The environment is read after the options, as dumb-init does (its
    # debug lines come in this order).
    if env.get("DUMB_INIT_DEBUG") == "1":
        log.level = _log.DEBUG
        log.debug("Running in debug mode.")
    if env.get("DUMB_INIT_SETSID") == "0":
        use_setsid = False
        log.debug("Not running in setsid mode.")
    if use_setsid:
        # Job control: the main process's group stops (and we stop after it).
        for number in (sig.SIGTSTP, sig.SIGTTOU, sig.SIGTTIN):
            rewrites.setdefault(int(number), int(sig.SIGSTOP))
    return InitConfig(
        command,
        log=log,
        rewrites=rewrites,
        forward_to_group=use_setsid,
        spawn_mode=SESSION if use_setsid else PROCESS_GROUP,
        term_group_on_exit=True,
        signal_set=DUMB_INIT,
        tty_hand_off=use_setsid,
        leave_cwd=True,
        suspend_on_tty_signals=True,
        grace=_grace(env.get("GUESTINIT_GRACE")),
        stop_timeout=False,
        subreaper=False,
        drain_as_subreaper=False,
        exec_failure_code=2,
    )


def _rewrite(text: str) -> tuple[int, int] | None:
    """dumb-init takes numbers only: ``s:r`` with s in 1..31 and r in 0..31."""
    received, colon, forwarded = text.partition(":")
    if not (colon and received.isdigit() and forwarded.isdigit()):
        return None
    pair = int(received), int(forwarded)
    if not (1 <= pair[0] <= 31 and 0 <= pair[1] <= 31):
        return None
    return pair


def _grace(text: str | None) -> float:
    try:
        return max(0.0, float(text)) if text else 5.0
    except ValueError:
        return 5.0
