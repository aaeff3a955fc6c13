"""``systemctl`` for images without systemd: the verbs distribution scripts
use, answered by the running guestinit service manager.

guestinit runs this when it is called through a link named ``systemctl``.
Requests go through ``guestinit ctl``'s client and are printed by its
renderer, so output and exit codes are systemctl's. Two differences from
``guestinit ctl`` are deliberate, both to keep scripts on their usual path:

- when no service manager answers (no control socket, or nobody listening on
  it), we print what systemctl prints on a machine not booted with systemd,
  so scripts that probe for systemd fall back to their other branch;
- command-line errors exit 1, as systemctl's do (``guestinit ctl``: 2).

``enable``, ``disable`` and ``is-enabled`` also work with no manager running,
as systemctl's do in a chroot: a Dockerfile's ``RUN systemctl enable ssh``
adds the link in /etc/guestinit/units that the next boot starts.
"""

import os
import time

from guestinit import __version__, _argv, _log
from guestinit._signames import parse_signal
from guestinit.control import client
from guestinit.control.protocol import WHOM, ProtocolError, Response, Verb, build_request
from guestinit.control.render import Style, render, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    Handler = Callable[["Shim", str, list[str]], int]

# The systemd whose unit semantics guestinit follows (Debian 12's). Scripts
# parse the number on the first line of --version to pick features.
SYSTEMD_VERSION = 252
EXIT_FAILURE = 1  # systemctl's answer to bad usage and to an unreachable manager

NOT_BOOTED = (
    "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
    "Failed to connect to bus: Host is down\n"
)
# What systemctl --user says in a container with no session bus.
NO_USER_BUS = "Failed to connect to bus: No medium found\n"
ENABLED_DIR = "/etc/guestinit/units"  # = cli.ENABLED_DIR, where the manager looks

USAGE = f"""\
systemctl [OPTIONS...] COMMAND [UNIT...]

guestinit's systemctl: asks the running guestinit service manager.

Commands:
  list-units [PATTERN...]   list-timers [PATTERN...]   status [UNIT...]
  show [UNIT...]            cat UNIT...                is-active UNIT...
  is-failed UNIT...         is-enabled UNIT...         is-system-running
  start UNIT...             stop UNIT...               restart UNIT...
  try-restart UNIT...       reload UNIT...             reload-or-restart UNIT...
  try-reload-or-restart UNIT...                        kill UNIT...
  enable UNIT...            disable UNIT...            daemon-reload
  list-unit-files [PATTERN...]
  poweroff  reboot  halt

Options:
  -q --quiet  --no-block  --no-pager  --no-legend  -l --full  -a --all  --system
  -s --signal=SIG  --kill-whom=main|control|all  -p --property=NAME  --value  -P NAME
  -t --type=TYPE  --state=STATE  --failed  --now (enable, disable)  --version  -h --help

guestinit {__version__}; enable/disable link units in {ENABLED_DIR}.
"""

_SHORT = "hqalfs:p:P:t:n:o:"
_LONG = {
    "help": "-h",
    "version": "--version",
    "system": "--system",
    "user": "--user",
    "quiet": "-q",
    "no-block": "--no-block",
    "no-pager": "--no-pager",
    "no-legend": "--no-legend",
    "full": "-l",
    "all": "-a",
    "value": "--value",
    "now": "--now",
    "failed": "--failed",
    "signal=": "-s",
    "kill-whom=": "--kill-whom",
    "kill-who=": "--kill-whom",  # the older spelling, which systemctl still takes
    "property=": "-p",
    "type=": "-t",
    "state=": "--state",
    # Accepted and ignored: they shape a pager, the journal excerpt or prompts.
    "lines=": "-n",
    "output=": "-o",
    "force": "-f",
    "plain": "--plain",
    "no-reload": "--no-reload",
    "no-ask-password": "--no-ask-password",
}


class Options:
    """The switches of one command line."""

    __slots__ = (
        "all",
        "help",
        "legend",
        "no_block",
        "now",
        "properties",
        "quiet",
        "signal",
        "states",
        "types",
        "user",
        "value",
        "version",
        "whom",
    )

    def __init__(self) -> None:
        self.help = self.version = self.user = False
        self.quiet = self.no_block = self.all = self.value = self.now = False
        self.legend = True
        self.signal: int | None = None
        self.whom: str | None = None
        self.properties: list[str] = []
        self.types: list[str] = []
        self.states: list[str] = []


def parse(argv: list[str]) -> tuple[Options, str, list[str]]:
    """The command line -> (options, verb, words after the verb). No verb
    means list-units, as for systemctl. Raises UsageError or ValueError."""
    found, operands = client.parse_anywhere(argv, _SHORT, _LONG)
    options = Options()
    flags = {
        "-h": "help",
        "--version": "version",
        "--user": "user",
        "-q": "quiet",
        "--no-block": "no_block",
        "-a": "all",
        "--value": "value",
        "--now": "now",
    }
    for option, value in found:
        if option in flags:
            setattr(options, flags[option], True)
        elif option == "--no-legend":
            options.legend = False
        elif option in ("-p", "-P"):
            options.properties += [name for name in value.split(",") if name]
            options.value = options.value or option == "-P"
        elif option == "-s":
            options.signal = parse_signal(value)
        elif option == "--kill-whom":
            if value not in WHOM:
                raise _argv.UsageError(f"--kill-whom takes one of {', '.join(WHOM)}")
            options.whom = value
        elif option == "-t":
            options.types += [word for word in value.split(",") if word]
        elif option == "--state":
            options.states += [word for word in value.split(",") if word]
        elif option == "--failed":  # systemctl: the same as --state=failed
            options.states.append("failed")
    verb = operands[0] if operands else "list-units"
    return options, verb, operands[1:]


def main(argv: list[str]) -> int:
    """``systemctl ARGV...``; returns the exit code."""
    try:
        options, verb, words = parse(argv)
    except (_argv.UsageError, ValueError) as error:
        _log.write_quietly(2, f"systemctl: {error}\n")
        return EXIT_FAILURE
    if options.help:
        _log.write_quietly(1, USAGE)
        return 0
    if options.version:
        _log.write_quietly(1, f"systemd {SYSTEMD_VERSION} (guestinit {__version__})\n")
        return 0
    if options.user:
        _log.write_quietly(2, NO_USER_BUS)
        return EXIT_FAILURE
    handler = _VERBS.get(verb)
    if handler is None:
        _log.write_quietly(2, f"Unknown command verb {verb}.\n")
        return EXIT_FAILURE
    path = os.environ.get(client.SOCKET_ENV) or client.DEFAULT_SOCKET
    return handler(Shim(options, path, os.environ), verb, words)


class Shim:
    """One run: the options, and the way to the manager."""

    __slots__ = ("env", "options", "path")

    def __init__(self, options: Options, path: str, env: "Mapping[str, str]") -> None:
        self.options = options
        self.path = path
        self.env = env

    def ask(self, verb: Verb, args: dict[str, object]) -> Response | int:
        """The manager's answer, or the exit code after saying why there is none."""
        answer = self.reach(verb, args)
        if answer is None:
            _log.write_quietly(2, NOT_BOOTED)
            return EXIT_FAILURE
        return answer

    def reach(self, verb: Verb, args: dict[str, object]) -> Response | int | None:
        """As ask(), but None, and nothing printed, when no manager runs: the
        verbs that work offline go on without it."""
        request = build_request(1, verb, args)
        if isinstance(request, ProtocolError):
            _log.write_quietly(2, f"systemctl: {request.message}\n")
            return EXIT_FAILURE
        try:
            response, _ = client.call(self.path, request)
        except client.Unreachable as error:
            if client.not_booted(error):
                return None
            _log.write_quietly(2, f"guestinit: {error}\n")
            return error.exit
        return response

    def print(self, verb: Verb, response: Response) -> int:
        """Print the answer as ``guestinit ctl`` does; its exit code."""
        style = Style(time.time(), quiet=self.options.quiet, legend=self.options.legend)
        out, err = render(verb, response, style)
        _log.write_quietly(1, out)
        # Point the user at the command they are using.
        _log.write_quietly(2, err.replace('"guestinit ctl status', '"systemctl status'))
        return exit_code(response)

    def run(self, verb: Verb, args: dict[str, object]) -> int:
        answer = self.ask(verb, args)
        return answer if isinstance(answer, int) else self.print(verb, answer)


def exit_code(response: Response) -> int:
    return EXIT_FAILURE if not response.ok and response.exit == 0 else response.exit


def units(words: list[str]) -> list[str]:
    return [client.unit_name(word) for word in words]


def _too_few() -> int:
    _log.write_quietly(2, "Too few arguments.\n")
    return EXIT_FAILURE


# --- the verbs ------------------------------------------------------------------

_JOBS = {
    "start": Verb.START,
    "stop": Verb.STOP,
    "restart": Verb.RESTART,
    "try-restart": Verb.TRY_RESTART,
    "condrestart": Verb.TRY_RESTART,  # systemctl's old name for it
    "reload": Verb.RELOAD,
    "reload-or-restart": Verb.RELOAD_OR_RESTART,
}


def do_job(shim: Shim, verb: str, words: list[str]) -> int:
    if not words:
        return _too_few()
    return shim.run(_JOBS[verb], {"units": units(words), "no_block": shim.options.no_block})


def do_try_reload(shim: Shim, verb: str, words: list[str]) -> int:
    """try-reload-or-restart (force-reload): reload-or-restart the units that
    are running, leave the others alone."""
    if not words:
        return _too_few()
    answer = shim.ask(Verb.IS_ACTIVE, {"units": units(words)})
    if isinstance(answer, int):
        return answer
    if not answer.ok or not isinstance(answer.result, dict):
        return shim.print(Verb.IS_ACTIVE, answer)
    running = [u["name"] for u in answer.result["units"] if u["state"] in ("active", "reloading")]
    if not running:
        return 0
    return shim.run(Verb.RELOAD_OR_RESTART, {"units": running, "no_block": shim.options.no_block})


def do_kill(shim: Shim, verb: str, words: list[str]) -> int:
    if not words:
        return _too_few()
    args: dict[str, object] = {"units": units(words)}
    if shim.options.signal is not None:
        args["signal"] = shim.options.signal
    if shim.options.whom is not None:
        args["whom"] = shim.options.whom
    return shim.run(Verb.KILL, args)


_QUERIES = {
    "is-active": Verb.IS_ACTIVE,
    "is-failed": Verb.IS_FAILED,
    "is-enabled": Verb.IS_ENABLED,
    "cat": Verb.CAT,
}


def do_query(shim: Shim, verb: str, words: list[str]) -> int:
    if not words:
        return _too_few()
    if verb == "is-enabled":
        answer = shim.reach(Verb.IS_ENABLED, {"units": units(words)})
        if answer is None:
            return offline_is_enabled(shim, units(words))
        return answer if isinstance(answer, int) else shim.print(Verb.IS_ENABLED, answer)
    return shim.run(_QUERIES[verb], {"units": units(words)})


def do_status(shim: Shim, verb: str, words: list[str]) -> int:
    return shim.run(Verb.STATUS, {"units": units(words)})


def do_show(shim: Shim, verb: str, words: list[str]) -> int:
    args = {"units": units(words), "properties": shim.options.properties, "all": shim.options.all}
    if not shim.options.value:
        return shim.run(Verb.SHOW, args)
    answer = shim.ask(Verb.SHOW, args)
    if isinstance(answer, int):
        return answer
    if not answer.ok or not isinstance(answer.result, dict):
        return shim.print(Verb.SHOW, answer)
    # --value: the values alone, one a line; a blank line between units.
    blocks = [
        "".join(f"{value}\n" for value in unit["properties"].values())
        for unit in answer.result["units"]
    ]
    _log.write_quietly(1, "\n".join(blocks))
    return exit_code(answer)


def do_list(shim: Shim, verb: str, words: list[str]) -> int:
    listing = Verb.LIST_UNITS if verb == "list-units" else Verb.LIST_TIMERS
    answer = shim.ask(listing, {"all": shim.options.all, "patterns": list(words)})
    if isinstance(answer, int):
        return answer
    wanted = shim.options
    filtered = wanted.types or wanted.states
    if listing is Verb.LIST_UNITS and filtered and answer.ok and isinstance(answer.result, dict):
        # --type= and --state=: systemctl filters on the manager's side; the
        # protocol has no such arguments, so we filter what comes back.
        rows = [row for row in answer.result["units"] if _matches(row, wanted)]
        answer = Response(answer.id, True, answer.exit, {**answer.result, "units": rows})
    return shim.print(listing, answer)


def _matches(row: "Mapping[str, str]", wanted: Options) -> bool:
    kind = row["name"].rpartition(".")[2]
    states = {row["load_state"], row["active_state"], row["sub_state"]}
    return (not wanted.types or kind in wanted.types) and (
        not wanted.states or bool(states & set(wanted.states))
    )


def do_simple(shim: Shim, verb: str, words: list[str]) -> int:
    """daemon-reload, poweroff, reboot, halt: no arguments."""
    return shim.run(Verb(verb), {})


def do_links(shim: Shim, verb: str, words: list[str]) -> int:
    """enable/disable [--now]: the link in /etc/guestinit/units, through the
    manager when it runs, else by ourselves (as systemctl does offline)."""
    if not words:
        return _too_few()
    names = units(words)
    action = Verb.ENABLE if verb == "enable" else Verb.DISABLE
    answer = shim.reach(action, {"units": names})
    if answer is None:
        code = offline_links(shim, names, action is Verb.ENABLE)
    elif isinstance(answer, int):
        return answer
    else:
        code = shim.print(action, answer)
    if code != 0 or not shim.options.now:
        return code
    follow = Verb.START if action is Verb.ENABLE else Verb.STOP
    return shim.run(follow, {"units": names, "no_block": shim.options.no_block})


def do_system_state(shim: Shim, verb: str, words: list[str]) -> int:
    """is-system-running: the manager's health as systemd's words; 0 only
    for "running". With no manager, systemctl's answer off systemd: offline."""
    answer = shim.reach(Verb.HEALTH, {})
    if answer is None:
        state, code = "offline", EXIT_FAILURE
    else:
        if isinstance(answer, int):
            return answer
        if not answer.ok or not isinstance(answer.result, dict):
            return shim.print(Verb.HEALTH, answer)
        state, code = answer.result["state"], exit_code(answer)
    if not shim.options.quiet:
        _log.write_quietly(1, f"{state}\n")
    return code


_VERBS: "dict[str, Handler]" = {
    **dict.fromkeys(_JOBS, do_job),
    **dict.fromkeys(("try-reload-or-restart", "reload-or-try-restart"), do_try_reload),
    "force-reload": do_try_reload,
    "kill": do_kill,
    **dict.fromkeys(_QUERIES, do_query),
    "status": do_status,
    "show": do_show,
    "list-units": do_list,
    "list-timers": do_list,
    **dict.fromkeys(("daemon-reload", "poweroff", "reboot", "halt"), do_simple),
    "enable": do_links,
    "disable": do_links,
    "is-system-running": do_system_state,
    "list-unit-files": lambda shim, verb, words: list_unit_files(shim, words),
}


def runlevel() -> int:
    """``runlevel`` (a link to systemctl, as systemd-sysv makes it): "N 3"
    once multi-user.target is reached; "unknown" (exit 1) without a manager."""
    path = os.environ.get(client.SOCKET_ENV) or client.DEFAULT_SOCKET
    answer = Shim(Options(), path, os.environ).reach(
        Verb.IS_ACTIVE, {"units": ["multi-user.target"]}
    )
    result = answer.result if isinstance(answer, Response) and answer.ok else None
    if isinstance(result, dict) and result["units"][0]["state"] == "active":
        _log.write_quietly(1, "N 3\n")
        return 0
    _log.write_quietly(1, "unknown\n")
    return EXIT_FAILURE


# --- without a manager: enable, disable, is-enabled on the files ----------------


def offline_links(shim: Shim, names: list[str], enable: bool) -> int:
    code = 0
    out: list[str] = []
    err: list[str] = []
    for name in names:
        link = os.path.join(ENABLED_DIR, name)
        source = _unit_file(shim, name)
        if source is None and not os.path.lexists(link):
            err.append(f"Failed to {'enable' if enable else 'disable'} unit: ")
            err.append(f"Unit file {name} does not exist.\n")
            code = EXIT_FAILURE
        elif enable and source is not None and not os.path.lexists(link):
            os.makedirs(ENABLED_DIR, exist_ok=True)
            os.symlink(source, link)
            out.append(f"Created symlink {link} \u2192 {source}.\n")
        elif not enable and os.path.islink(link):
            os.unlink(link)
            out.append(f'Removed "{link}".\n')
    if not shim.options.quiet:
        _log.write_quietly(1, "".join(out))
    _log.write_quietly(2, "".join(err))
    return code


def list_unit_files(shim: Shim, patterns: list[str]) -> int:
    """list-unit-files: every unit file on the unit path (the first of a
    name wins) and its enablement, read from the files as systemctl does."""
    import fnmatch

    rows: list[list[str]] = []
    for name, path in _unit_files(shim).items():
        kind = name.rpartition(".")[2]
        state = _file_state(name, path)
        if patterns and not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        if shim.options.types and kind not in shim.options.types:
            continue
        if shim.options.states and state not in shim.options.states:
            continue
        preset = "-" if state in ("static", "masked", "generated") else "enabled"
        rows.append([name, state, preset])
    header = ["UNIT FILE", "STATE", "VENDOR PRESET"] if shim.options.legend else None
    text = table(header, rows) if rows else ""
    if shim.options.legend:
        text += f"\n{len(rows)} unit files listed.\n"
    _log.write_quietly(1, text)
    return 0


def _unit_files(shim: Shim) -> dict[str, str]:
    """Name -> file for every unit file on the manager's unit path."""
    from guestinit.service.registry import default_unit_path

    given = [p for p in shim.env.get("GUESTINIT_UNIT_PATH", "").split(":") if p]
    found: dict[str, str] = {}
    for folder in given or default_unit_path():
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        for entry in entries:
            kind = entry.rpartition(".")[2]
            if "." in entry and kind in client.UNIT_TYPES and entry not in found:
                found[entry] = os.path.join(folder, entry)
    return dict(sorted(found.items()))


def _file_state(name: str, path: str) -> str:
    if os.path.lexists(os.path.join(ENABLED_DIR, name)):
        return "enabled"
    if os.path.realpath(path) == "/dev/null":
        return "masked"
    return "disabled" if _has_install(path) else "static"


def offline_is_enabled(shim: Shim, names: list[str]) -> int:
    answers: list[str] = []
    err: list[str] = []
    for name in names:
        source = _unit_file(shim, name)
        if os.path.lexists(os.path.join(ENABLED_DIR, name)):
            answers.append("enabled")
        elif source is None:
            err.append(f"Failed to get unit file state for {name}: No such file or directory\n")
        else:
            # A unit with no [Install] section cannot be enabled: "static".
            answers.append("disabled" if _has_install(source) else "static")
    if not shim.options.quiet:
        _log.write_quietly(1, "".join(f"{state}\n" for state in answers))
    _log.write_quietly(2, "".join(err))
    return 0 if {"enabled", "static"} & set(answers) else EXIT_FAILURE


def _unit_file(shim: Shim, name: str) -> str | None:
    """Where the manager would find ``name``, leaving out the enabled folder
    itself (a link there is the thing enable makes)."""
    from guestinit.service.registry import default_unit_path  # the manager's path
    from guestinit.unitfile.load import find_unit_file

    given = [p for p in shim.env.get("GUESTINIT_UNIT_PATH", "").split(":") if p]
    path = [p for p in (given or default_unit_path()) if p.rstrip("/") != ENABLED_DIR]
    try:
        return find_unit_file(name, path)
    except ValueError:  # not a valid unit name
        return None


def _has_install(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return any(line.strip() == "[Install]" for line in handle)
    except OSError:
        return False
