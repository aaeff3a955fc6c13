"""Answers of the service manager -> the text ``guestinit ctl`` prints (pure).

The layout follows systemctl's, so that what people know how to read (and
what scripts grep for: ``Active: active (running)``) reads the same. Each
renderer returns ``(stdout text, stderr text)``; times are formatted in the
local time zone and relative to an injected ``now``.

A result that does not have the documented shape (a manager of another
version) is printed as JSON with a warning rather than lost.
"""

import json
import time

from guestinit._signames import signal_name
from guestinit.control.protocol import Response, Verb

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Result = Any  # the shapes are results.*; typing is not imported at run time
    Renderer = Callable[[Verb, Result, "Style"], tuple[str, str]]

BULLETS = {"failed": "\u00d7", "inactive": "\u25cb"}  # x, open circle; else a dot
DOT = "\u25cf"
ARROW = "\u2192"

# The LSB's names for service exit codes (LSB 3.0.0, "Init Script Actions").
EXIT_NAMES = {
    0: "SUCCESS",
    1: "FAILURE",
    2: "INVALIDARGUMENT",
    3: "NOTIMPLEMENTED",
    4: "NOPERMISSION",
    5: "NOTINSTALLED",
    6: "NOTCONFIGURED",
    7: "NOTRUNNING",
    # systemd.exec(5): a service's process failed before or at exec.
    200: "CHDIR",
    201: "NICE",
    202: "FDS",
    203: "EXEC",
    204: "MEMORY",
    205: "LIMITS",
    206: "OOM_ADJUST",
    207: "SIGNAL_MASK",
    208: "STDIN",
    209: "STDOUT",
    210: "CHROOT",
    211: "IOPRIO",
    212: "TIMERSLACK",
    213: "SECUREBITS",
    214: "SETSCHEDULER",
    215: "CPUAFFINITY",
    216: "GROUP",
    217: "USER",
    218: "CAPABILITIES",
    219: "CGROUP",
    220: "SETSID",
    221: "CONFIRM",
    222: "STDERR",
    224: "PAM",
    225: "NETWORK",
    226: "NAMESPACE",
    227: "NO_NEW_PRIVILEGES",
    228: "SECCOMP",
    229: "SELINUX_CONTEXT",
    230: "PERSONALITY",
    231: "APPARMOR_PROFILE",
    232: "ADDRESS_FAMILIES",
    233: "RUNTIME_DIRECTORY",
    235: "CHOWN",
    236: "SMACK_PROCESS_LABEL",
    237: "KEYRING",
    238: "STATE_DIRECTORY",
    239: "CACHE_DIRECTORY",
    240: "LOGS_DIRECTORY",
    241: "CONFIGURATION_DIRECTORY",
    242: "NUMA_POLICY",
    243: "CREDENTIALS",
}


class Style:
    """How to render: the switches of the command line that affect output."""

    __slots__ = ("legend", "now", "quiet")

    def __init__(self, now: float, quiet: bool = False, legend: bool = True) -> None:
        self.now = now
        self.quiet = quiet
        self.legend = legend


def render(verb: Verb, response: Response, style: Style) -> tuple[str, str]:
    """The text for one response."""
    if not response.ok:
        return "", f"guestinit: {response.error or 'request failed'}\n"
    renderer = _RENDERERS.get(verb)
    if renderer is None or response.result is None:
        return "", ""
    try:
        return renderer(verb, response.result, style)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        raw = json.dumps(response.result, indent=2)
        return raw + "\n", "guestinit: unexpected answer from the service manager, shown raw\n"


# --- status -------------------------------------------------------------------


def render_status(verb: Verb, result: "Result", style: Style) -> tuple[str, str]:
    blocks = [status_block(unit, style.now) for unit in result["units"]]
    err = "".join(f"Unit {name} could not be found.\n" for name in result["missing"])
    return "\n".join(blocks), err


def status_block(unit: "Result", now: float) -> str:
    active, sub = unit["active_state"], unit["sub_state"]
    lines = [f"{BULLETS.get(active, DOT)} {unit['name']} - {unit['description'] or unit['name']}"]
    lines.append(_field("Loaded", _loaded(unit)))
    state = f"{active} (Result: {unit['result']})" if active == "failed" else f"{active} ({sub})"
    if sub == "auto-restart":  # as systemctl shows a unit waiting to restart
        state += f" (Result: {unit['result']})"
    if unit["since"] is not None:
        state += f" since {timestamp(unit['since'])}; {ago(now - unit['since'])}"
    lines.append(_field("Active", state))
    if unit["main_pid"] is not None:
        name = f" ({unit['main_name']})" if unit["main_name"] else ""
        lines.append(_field("Main PID", f"{unit['main_pid']}{name}"))
    elif unit["last_exit"] is not None:
        last = unit["last_exit"]
        lines.append(_field("Main PID", f"{last['pid']} ({exit_description(last)})"))
    if unit["status_text"]:
        lines.append(_field("Status", f'"{unit["status_text"]}"'))
    restart_at = unit.get("restart_at")
    if restart_at is not None:
        when = f"{timestamp(restart_at)}; in {ago(max(0.0, restart_at - now), suffix='')}"
        lines.append(_field("Restart", f"#{unit['restarts']} at {when}"))
    elif unit["restarts"]:
        lines.append(_field("Restarts", str(unit["restarts"])))
    if unit["tasks"] is not None:
        lines.append(_field("Tasks", str(unit["tasks"])))
    if unit["memory_bytes"] is not None:
        lines.append(_field("Memory", size(unit["memory_bytes"])))
    if unit["cpu_seconds"] is not None:
        lines.append(_field("CPU", cpu_time(unit["cpu_seconds"])))
    reasons = unit.get("load_reasons") or []
    if reasons:
        lines += ["", *reasons]
    log = unit.get("log") or []
    if log:
        lines += ["", *log]
    return "\n".join(lines) + "\n"


def _field(label: str, value: str) -> str:
    return f"{label:>11}: {value}"


def _loaded(unit: "Result") -> str:
    if unit["load_state"] in ("bad-setting", "error"):
        reason = "has a bad unit file setting" if unit["load_state"] == "bad-setting" else "failed"
        return f"{unit['load_state']} (Reason: Unit {unit['name']} {reason}.)"
    details = [part for part in (unit["path"], unit["enabled"]) if part]
    return f"{unit['load_state']} ({'; '.join(details)})" if details else unit["load_state"]


def exit_description(last: "Result") -> str:
    """``code=exited, status=1/FAILURE`` or ``code=killed, status=15/TERM``."""
    status = last["status"]
    name = last.get("status_name")
    if not name:
        if last["code"] == "exited":
            name = EXIT_NAMES.get(status)
        else:
            name = signal_name(status).removeprefix("SIG")
    text = f"{status}/{name}" if name and name != str(status) else str(status)
    return f"code={last['code']}, status={text}"


# --- jobs, states ---------------------------------------------------------------


def render_jobs(verb: Verb, result: "Result", style: Style) -> tuple[str, str]:
    err = []
    for job in result["jobs"]:
        unit, message = job["unit"], job.get("message")
        if job["result"] == "not-found":
            err.append(f"Failed to {verb} {unit}: Unit {unit} not found.\n")
        elif job["result"] == "failed" and verb is Verb.KILL:
            err.append(f"Failed to kill unit {unit}: {message or 'failed'}\n")
        elif job["result"] == "dependency":
            err.append(f"A dependency job for {unit} failed.")
            err.append(f' See "guestinit ctl status {unit}" for details.\n')
        elif job["result"] == "failed":
            because = f": {message}" if message else ""
            err.append(f"Job for {unit} failed{because}.\n")
            err.append(f'See "guestinit ctl status {unit}" for details.\n')
    return "", "".join(err)


def render_states(verb: Verb, result: "Result", style: Style) -> tuple[str, str]:
    if style.quiet:
        return "", ""
    out, err = [], []
    for unit in result["units"]:
        if verb is Verb.IS_ENABLED and unit["state"] == "not-found":
            err.append(f"Failed to get unit file state for {unit['name']}: no such unit file\n")
        else:
            out.append(unit["state"] + "\n")
    return "".join(out), "".join(err)


# --- listings -------------------------------------------------------------------


def render_units(verb: Verb, result: "Result", style: Style) -> tuple[str, str]:
    units = result["units"]
    rows = [
        [u["name"], u["load_state"], u["active_state"], u["sub_state"], u["description"]]
        for u in units
    ]
    # Failed and not properly loaded units are marked, as systemctl does.
    marks = [
        f"{DOT} " if u["active_state"] == "failed" or u["load_state"] != "loaded" else "  "
        for u in units
    ]
    header = ["UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION"]
    out = table(header if style.legend else None, rows, marks)
    if style.legend:
        out += f"\n{len(units)} loaded units listed.\n"
    return out, ""


def render_timers(verb: Verb, result: "Result", style: Style) -> tuple[str, str]:
    timers = result["timers"]
    rows = []
    for timer in timers:
        next_, last = timer["next"], timer["last"]
        rows.append(
            [
                timestamp(next_) if next_ is not None else "-",
                ago(next_ - style.now, " left") if next_ is not None else "-",
                timestamp(last) if last is not None else "-",
                ago(style.now - last) if last is not None else "-",
                timer["name"],
                timer["activates"],
            ]
        )
    header = ["NEXT", "LEFT", "LAST", "PASSED", "UNIT", "ACTIVATES"]
    out = table(header if style.legend else None, rows)
    if style.legend:
        out += f"\n{len(timers)} timers listed.\n"
    return out, ""


def table(header: list[str] | None, rows: list[list[str]], marks: list[str] | None = None) -> str:
    """Left-aligned columns one space apart, the last one not padded; each
    row after its mark (``"● "`` or two blanks), the header after blanks."""
    everything = ([header] if header else []) + rows
    if marks is None:
        marks = [""] * len(everything)
    elif header:
        marks = [" " * max((len(mark) for mark in marks), default=2), *marks]
    if not everything:
        return ""
    widths = [max(len(row[i]) for row in everything) for i in range(len(everything[0]) - 1)]
    lines = []
    for mark, row in zip(marks, everything, strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append((mark + " ".join([*cells, row[-1]])).rstrip())
    return "\n".join(lines) + "\n"


# --- files and properties ---------------------------------------------------------


def render_cat(verb: Verb, result: "Result", style: Style) -> tuple[str, str]:
    blocks = []
    for unit in result["units"]:
        for file in unit["files"]:
            text = file["text"]
            if text and not text.endswith("\n"):
                text += "\n"
            blocks.append(f"# {file['path']}\n{text}")
    err = "".join(f"No files found for {name}.\n" for name in result["missing"])
    return "\n".join(blocks), err


def render_show(verb: Verb, result: "Result", style: Style) -> tuple[str, str]:
    blocks = [
        "".join(f"{key}={value}\n" for key, value in unit["properties"].items())
        for unit in result["units"]
    ]
    return "\n".join(blocks), ""


def render_changes(verb: Verb, result: "Result", style: Style) -> tuple[str, str]:
    out = []
    for change in result["changes"]:
        if change["type"] == "symlink":
            out.append(f"Created symlink {change['path']} {ARROW} {change['source']}.\n")
        else:
            out.append(f'Removed "{change["path"]}".\n')
    err = "".join(
        f"Failed to {verb} unit: Unit file {name} does not exist.\n" for name in result["missing"]
    )
    return ("" if style.quiet else "".join(out)), err


def render_reload(verb: Verb, result: "Result", style: Style) -> tuple[str, str]:
    return "", "".join(f"guestinit: {warning}\n" for warning in result["warnings"])


def render_health(verb: Verb, result: "Result", style: Style) -> tuple[str, str]:
    if style.quiet:
        return "", ""
    lines = [result["state"]]
    lines.append(f"units: {result['units']}, failed: {len(result['failed'])}")
    lines += [f"failed: {name}" for name in result["failed"]]
    lines.append(f"uptime: {ago(result['uptime_seconds'], '')}")
    lines.append(f"guestinit {result['version']}, pid {result['pid']}")
    return "\n".join(lines) + "\n", ""


_RENDERERS: "dict[Verb, Renderer]" = {
    Verb.STATUS: render_status,
    **{
        verb: render_jobs
        for verb in (
            Verb.START,
            Verb.STOP,
            Verb.RESTART,
            Verb.TRY_RESTART,
            Verb.RELOAD,
            Verb.RELOAD_OR_RESTART,
            Verb.KILL,
        )
    },
    Verb.IS_ACTIVE: render_states,
    Verb.IS_FAILED: render_states,
    Verb.IS_ENABLED: render_states,
    Verb.LIST_UNITS: render_units,
    Verb.LIST_TIMERS: render_timers,
    Verb.CAT: render_cat,
    Verb.SHOW: render_show,
    Verb.ENABLE: render_changes,
    Verb.DISABLE: render_changes,
    Verb.DAEMON_RELOAD: render_reload,
    Verb.HEALTH: render_health,
}


# --- times and sizes ------------------------------------------------------------


def timestamp(epoch: float) -> str:
    """``Tue 2024-01-02 03:04:05 UTC``, local time."""
    return time.strftime("%a %Y-%m-%d %H:%M:%S %Z", time.localtime(epoch))


def ago(seconds: float, suffix: str = " ago") -> str:
    """A duration in its two largest units: ``5s``, ``3min 2s``, ``2h 5min``,
    ``4 days 3h`` (plus ``suffix``)."""
    if seconds < 1:
        return f"{max(0, int(seconds * 1000))}ms{suffix}"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days} day{'s' if days > 1 else ''}" + (f" {hours}h" if hours else "")
    elif hours:
        text = f"{hours}h" + (f" {minutes}min" if minutes else "")
    elif minutes:
        text = f"{minutes}min" + (f" {secs}s" if secs else "")
    else:
        text = f"{secs}s"
    return text + suffix


def size(count: int) -> str:
    """Bytes in powers of 1024 with one decimal: ``512B``, ``1.5K``, ``12.0M``."""
    if count < 1024:
        return f"{count}B"
    value = float(count)
    for unit in "KMGTPE":
        value /= 1024
        if value < 1024 or unit == "E":
            return f"{value:.1f}{unit}"
    raise AssertionError("unreachable")


def cpu_time(seconds: float) -> str:
    """``850ms``, ``2.315s``, ``1min 4.020s``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.3f}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}min {rest:.3f}s"
