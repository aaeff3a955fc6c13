"""tini 0.19's command line: ``tini [-hsvwgl] [-p SIG] [-e CODE] PROGRAM [ARGS]``.

Differences on purpose: as PID 1 the processes left when the main one exits
get SIGTERM and GUESTINIT_GRACE seconds (default 5) instead of the kernel's
immediate SIGKILL.
"""

from guestinit import __version__, _argv, _log
from guestinit._signames import parse_signal
from guestinit.config import InitConfig
from guestinit.pid1.signals import TINI

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

VERSION = "0.19.0"

HELP = f"""\
tini (tini version {VERSION} - guestinit {__version__})
Usage: tini [OPTIONS] PROGRAM -- [ARGS] | --version

Runs PROGRAM under an init that reaps zombies and forwards signals
(guestinit in tini-compatible mode).

Command line options:

  --version: Show version and exit.
  -h: Show this help message and exit.
  -s: Register as a process subreaper.
  -p SIGNAL: Receive SIGNAL when our parent dies, e.g. "-p SIGKILL".
  -v: More verbose output; up to 3 times.
  -w: Warn whenever a process other than the main one is reaped.
  -g: Forward signals to the child's process group.
  -e EXIT_CODE: Report EXIT_CODE (0 to 255) as 0.
  -l: Show license and exit.

Environment variables:

  TINI_SUBREAPER: Register as a process subreaper.
  TINI_VERBOSITY: Verbosity level (default: 1).
  TINI_KILL_PROCESS_GROUP: Forward signals to the child's process group.
  GUESTINIT_GRACE: Seconds left processes get after SIGTERM when we are PID 1 (5).

"""

LICENSE = """\
guestinit is distributed under the MIT License. It reimplements tini's
interface; tini itself is (c) Thomas Orozco, also under the MIT License.
"""


def parse(args: list[str], env: "Mapping[str, str]", prog: str = "tini") -> InitConfig | int:
    """tini's options -> InitConfig, or the exit code to stop with. ``prog`` is
    argv[0] as given: getopt's messages name it that way."""
    if args[:1] == ["--version"]:
        _log.write_quietly(1, f"tini version {VERSION} - guestinit {__version__}\n")
        return 0
    try:
        options, command = _argv.parse(args, "hsp:vwgle:")
    except _argv.UsageError as error:
        _log.write_quietly(2, f"{prog}: {error}\n{HELP}")
        return 1
    verbosity = 1
    kwargs: dict[str, object] = {
        "subreaper": "TINI_SUBREAPER" in env,
        "forward_to_group": "TINI_KILL_PROCESS_GROUP" in env,
    }
    success: set[int] = set()
    log = _log.Log(style=_log.TINI)
    for option, value in options:
        if option == "-h":
            _log.write_quietly(1, HELP)
            return 0
        if option == "-l":
            _log.write_quietly(1, LICENSE)
            return 0
        if option == "-s":
            kwargs["subreaper"] = True
        elif option == "-v":
            verbosity += 1
        elif option == "-w":
            kwargs["warn_on_reap"] = True
        elif option == "-g":
            kwargs["forward_to_group"] = True
        elif option == "-p":
            try:
                kwargs["parent_death_signal"] = parse_signal(value)
            except ValueError:
                log.error(f"Not a valid option for -p: {value}")
                return 1
        elif option == "-e":
            if not value.isdigit() or int(value) > 255:
                log.error(f"Not a valid option for -e: {value}")
                return 1
            success.add(int(value))
    if not command:
        _log.write_quietly(2, HELP)
        return 1
    # TINI_VERBOSITY, when set, replaces the count of -v (tini reads it after
    # the options). Verbosity 1 (the default) shows warnings; each step one level more.
    if "TINI_VERBOSITY" in env:
        verbosity = _atoi(env["TINI_VERBOSITY"])
    log.level = max(_log.ERROR, min(_log.TRACE, verbosity + 1))
    return InitConfig(
        command,
        log=log,
        success_codes=frozenset(success),
        grace=_float_or(env.get("GUESTINIT_GRACE"), 5.0),
        stop_timeout=False,
        drain_as_subreaper=False,
        signal_set=TINI,
        **kwargs,  # type: ignore[arg-type]
    )


def _atoi(text: str) -> int:
    """C's atoi: optional blanks and sign, then the leading digits; 0 if none."""
    word = text.lstrip(" \t\n\v\f\r")
    sign = -1 if word[:1] == "-" else 1
    word = word[1:] if word[:1] in "+-" and word else word
    digits = ""
    for char in word:
        if char not in "0123456789":
            break
        digits += char
    return sign * int(digits) if digits else 0


def _float_or(text: str | None, default: float) -> float:
    try:
        return max(0.0, float(text)) if text else default
    except ValueError:
        return default
