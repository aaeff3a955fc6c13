"""``%`` specifiers of systemd.unit(5), resolved against a context passed in.

The context holds the host facts (hostname, machine id, the manager's user);
everything derived from the unit's own name is computed here. Reading those facts
from the machine is ``load.host_context()``'s job, so this module stays pure.
Defaults are those of systemd's *system* manager running as root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from guestinit.unitfile._names import UnitName, unescape, unescape_path


class SpecifierError(ValueError):
    """An unknown specifier, or a ``%`` at the end of the value."""


@dataclass(frozen=True)
class SpecifierContext:
    hostname: str = "localhost"
    machine_id: str = ""
    boot_id: str = ""
    kernel_release: str = ""
    architecture: str = ""
    os_id: str = ""  # ID= of os-release
    os_version_id: str = ""
    os_build_id: str = ""
    os_image_id: str = ""
    os_image_version: str = ""
    pretty_hostname: str = ""
    user_name: str = "root"
    user_id: int = 0
    group_name: str = "root"
    group_id: int = 0
    home: str = "/root"
    shell: str = "/bin/sh"
    runtime_dir: str = "/run"
    state_dir: str = "/var/lib"
    cache_dir: str = "/var/cache"
    logs_dir: str = "/var/log"
    config_dir: str = "/etc"
    tmp_dir: str = "/tmp"
    var_tmp_dir: str = "/var/tmp"
    credentials_dir: str = ""


def _final_component(prefix: str) -> str:
    # %j: the part of the prefix after its last dash, or the whole prefix.
    return prefix.rpartition("-")[2]


def _table(unit: UnitName, ctx: SpecifierContext, unit_path: str) -> dict[str, Callable[[], str]]:
    name_no_suffix = unit.name.rpartition(".")[0]
    instance = unit.instance or ""
    short_host = ctx.hostname.partition(".")[0]
    return {
        "n": lambda: unit.name,
        "N": lambda: name_no_suffix,
        "p": lambda: unit.prefix,
        "P": lambda: unescape(unit.prefix),
        "i": lambda: instance,
        "I": lambda: unescape(instance),
        "j": lambda: _final_component(unit.prefix),
        "J": lambda: unescape(_final_component(unit.prefix)),
        "f": lambda: unescape_path(instance if unit.instance else unit.prefix),
        "y": lambda: unit_path,
        "Y": lambda: unit_path.rpartition("/")[0] or "/",
        "t": lambda: ctx.runtime_dir,
        "S": lambda: ctx.state_dir,
        "C": lambda: ctx.cache_dir,
        "L": lambda: ctx.logs_dir,
        "E": lambda: ctx.config_dir,
        "T": lambda: ctx.tmp_dir,
        "V": lambda: ctx.var_tmp_dir,
        "d": lambda: ctx.credentials_dir,
        "h": lambda: ctx.home,
        "s": lambda: ctx.shell,
        "u": lambda: ctx.user_name,
        "U": lambda: str(ctx.user_id),
        "g": lambda: ctx.group_name,
        "G": lambda: str(ctx.group_id),
        "H": lambda: ctx.hostname,
        "l": lambda: short_host,
        "q": lambda: ctx.pretty_hostname or short_host,
        "m": lambda: ctx.machine_id,
        "b": lambda: ctx.boot_id,
        "v": lambda: ctx.kernel_release,
        "a": lambda: ctx.architecture,
        "o": lambda: ctx.os_id,
        "w": lambda: ctx.os_version_id,
        "B": lambda: ctx.os_build_id,
        "M": lambda: ctx.os_image_id,
        "A": lambda: ctx.os_image_version,
        "%": lambda: "%",
    }


def resolve_specifiers(
    text: str, unit: UnitName, ctx: SpecifierContext, unit_path: str = ""
) -> str:
    """Replace every ``%x`` in ``text``; SpecifierError for an unknown one."""
    if "%" not in text:
        return text
    table = _table(unit, ctx, unit_path)
    out: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char != "%":
            out.append(char)
            pos += 1
            continue
        if pos + 1 >= len(text):
            raise SpecifierError("a lone '%' ends the value (write %% for a literal percent)")
        letter = text[pos + 1]
        if letter not in table:
            raise SpecifierError(f"unknown specifier %{letter}")
        out.append(table[letter]())
        pos += 2
    return "".join(out)
