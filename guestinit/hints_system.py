"""Runtime hints' side effects: read a process's limits through procshim's
cgroup readers and the kernel, then print (``guestinit hints``) or apply
(``guestinit --hints``) what ``guestinit.hints`` derives from them."""

import dataclasses
import json
import os
from collections.abc import Mapping, MutableMapping

from guestinit import _argv, _log
from guestinit.hints import Limits, export_lines, hints

USAGE = """\
usage: guestinit hints [--pid PID] [--json]

Print environment hints (GOMAXPROCS, JAVA_TOOL_OPTIONS, NODE_OPTIONS, ...) for
the cgroup limits of PID (default: this process) as shell lines, for
  eval "$(guestinit hints)"
Variables already set keep their values; JAVA_TOOL_OPTIONS and NODE_OPTIONS
only gain the flags they lack. Nothing is printed when there is no limit.

options:
  --pid PID   read PID's cgroup and CPU affinity instead of our own
  --json      print {"limits": {...}, "environment": {...}} instead
  -h, --help  print this help and exit
"""

Pid = int | str  # a number, or "self"


def read_limits(pid: Pid = "self") -> Limits:
    """``pid``'s effective limits. Raises ImportError without procshim."""
    # Lazy: the readers cost ~50 ms of imports, paid only when hints are asked for.
    from procshim.cgroup import detect

    reader = detect(pid=pid)
    cpu = reader.cpu_limits()
    return Limits(
        memory=reader.memory().limit,
        cpu_quota=None if cpu.quota is None else cpu.quota.cpus,
        cpuset=None if cpu.cpuset is None else len(cpu.cpuset),
        affinity=_affinity(pid),
        host_memory=_host_memory(),
    )


def _affinity(pid: Pid) -> int | None:
    try:
        return len(os.sched_getaffinity(0 if pid == "self" else int(pid)))
    except (OSError, ValueError):
        return None


def _host_memory() -> int | None:
    """The RAM sysinfo() reports (glibc's _SC_PHYS_PAGES asks it, not
    /proc/meminfo): what a runtime blind to cgroups sees."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def apply(environ: MutableMapping[str, str], log: _log.Log, pid: Pid = "self") -> dict[str, str]:
    """Add the hints for ``pid``'s limits to ``environ``; returns what was
    added. Never raises: failing to read limits costs only the hints."""
    try:
        added = hints(read_limits(pid), environ)
    except Exception as error:  # ImportError without procshim, or a reader's fault
        log.warning(f"runtime hints off: cannot read the cgroup limits ({error})")
        return {}
    environ.update(added)
    if added:
        log.info("runtime hints: " + " ".join(f"{k}={v}" for k, v in added.items()))
    else:
        log.debug("runtime hints: no CPU quota or memory limit below the machine's; none set")
    return added


def main(args: list[str], environ: Mapping[str, str] | None = None) -> int:
    """``guestinit hints ...``: the exit status."""
    try:
        pid, as_json = _parse(args)
    except _argv.UsageError as error:
        _log.write_quietly(2, f"guestinit hints: {error}\n{USAGE}")
        return 2
    if pid is None:
        _log.write_quietly(1, USAGE)
        return 0
    if pid != "self" and not os.path.isdir(f"/proc/{pid}"):
        _log.write_quietly(2, f"guestinit hints: no process {pid}\n")
        return 1
    try:
        limits = read_limits(pid)
    except ImportError as error:
        _log.write_quietly(2, f"guestinit hints: procshim is not installed ({error})\n")
        return 1
    added = hints(limits, os.environ if environ is None else environ)
    if as_json:
        text = json.dumps({"limits": dataclasses.asdict(limits), "environment": added}, indent=2)
        _log.write_quietly(1, text + "\n")
    else:
        _log.write_quietly(1, export_lines(added))
    return 0


def _parse(args: list[str]) -> tuple[Pid | None, bool]:
    """(pid, --json); pid None means --help."""
    options, rest = _argv.parse(args, "h", {"pid=": "--pid", "json": "--json", "help": "-h"})
    if rest:
        raise _argv.UsageError(f"unexpected argument {rest[0]!r}")
    pid: Pid = "self"
    as_json = False
    for option, value in options:
        if option == "-h":
            return None, False
        if option == "--pid":
            if not value.isdigit() or int(value) < 1:
                raise _argv.UsageError(f"--pid takes a process id, got {value!r}")
            pid = int(value)
        elif option == "--json":
            as_json = True
    return pid, as_json
