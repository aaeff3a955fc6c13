"""Condition*= and Assert*= checks (side effects: they look at the system).

systemd's rules: every plain condition must hold; of the conditions marked
with ``|`` at least one must hold (if there are any); ``!`` negates. A failed
condition skips the unit quietly, a failed assertion fails it. Kinds we do not
know evaluate as true with a warning, so a new systemd keyword never stops a
service from starting.
"""

import glob
import os
import platform
import shutil
from collections.abc import Callable, Iterable

from guestinit.unitfile import Condition

_VM_VENDORS = {
    "QEMU": "qemu",
    "KVM": "kvm",
    "Amazon EC2": "amazon",
    "Xen": "xen",
    "VMware, Inc.": "vmware",
    "innotek GmbH": "oracle",
    "Microsoft Corporation": "microsoft",
    "Google": "google",
    "Firecracker": "kvm",
}


def evaluate(conditions: Iterable[Condition], root: str = "/") -> tuple[bool, list[str]]:
    """(holds, notes): notes say which check failed or was unknown."""
    plain_ok = True
    triggers: list[bool] = []
    notes: list[str] = []
    for condition in conditions:
        check = _CHECKS.get(condition.kind)
        if check is None:
            notes.append(
                f"{condition.at.file}:{condition.at.line}: unknown condition "
                f"{condition.kind}, treated as true"
            )
            result = True
        else:
            result = check(condition.value, root) != condition.negate
        if condition.trigger:
            triggers.append(result)
        elif not result:
            plain_ok = False
            bang = "!" if condition.negate else ""
            notes.append(f"{condition.kind}={bang}{condition.value} does not hold")
    holds = plain_ok and (not triggers or any(triggers))
    if plain_ok and triggers and not any(triggers):
        notes.append("none of the |-triggered conditions holds")
    return holds, notes


def _path(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/")) if root != "/" else path


def _exists(value: str, root: str) -> bool:
    return os.path.lexists(_path(root, value))


def _exists_glob(value: str, root: str) -> bool:
    return bool(glob.glob(_path(root, value)))


def _is_dir(value: str, root: str) -> bool:
    return os.path.isdir(_path(root, value))


def _is_symlink(value: str, root: str) -> bool:
    return os.path.islink(_path(root, value))


def _is_mount_point(value: str, root: str) -> bool:
    return os.path.ismount(_path(root, value))


def _is_read_write(value: str, root: str) -> bool:
    try:
        return not (os.statvfs(_path(root, value)).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _file_not_empty(value: str, root: str) -> bool:
    path = _path(root, value)
    return os.path.isfile(path) and os.path.getsize(path) > 0


def _file_is_executable(value: str, root: str) -> bool:
    path = _path(root, value)
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _directory_not_empty(value: str, root: str) -> bool:
    path = _path(root, value)
    try:
        return os.path.isdir(path) and any(not n.startswith(".") for n in os.listdir(path))
    except OSError:
        return False


def _boolean(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off"):
        return False
    return None


def detect_virtualization(root: str = "/") -> tuple[str, str]:
    """("container"|"vm"|"", name), as systemd-detect-virt would answer."""
    for marker, name in (("run/.containerenv", "podman"), (".dockerenv", "docker")):
        if os.path.exists(_path(root, marker)):
            return "container", name
    try:
        with open(_path(root, "proc/1/environ"), "rb") as environ:
            for entry in environ.read().split(b"\0"):
                if entry.startswith(b"container="):
                    return "container", entry[len("container=") :].decode() or "container"
    except OSError:
        pass
    try:
        with open(_path(root, "sys/class/dmi/id/sys_vendor")) as vendor:
            vm = _VM_VENDORS.get(vendor.read().strip())
            if vm:
                return "vm", vm
    except OSError:
        pass
    try:
        with open(_path(root, "proc/cpuinfo")) as cpuinfo:
            if any(line.startswith("flags") and " hypervisor" in line for line in cpuinfo):
                return "vm", "vm-other"
    except OSError:
        pass
    return "", ""


def _virtualization(value: str, root: str) -> bool:
    kind, name = detect_virtualization(root)
    wanted = _boolean(value)
    if wanted is not None:
        return bool(kind) == wanted
    return value.strip() in (kind, name)


def _ac_power(value: str, root: str) -> bool:
    wanted = _boolean(value)
    supplies = glob.glob(_path(root, "sys/class/power_supply/*"))
    mains = []
    for supply in supplies:
        try:
            with open(os.path.join(supply, "type")) as kind:
                if kind.read().strip() != "Mains":
                    continue
            with open(os.path.join(supply, "online")) as online:
                mains.append(online.read().strip() == "1")
        except OSError:
            continue
    on_ac = not mains or any(mains)  # no AC connector known counts as on AC
    return on_ac == (wanted if wanted is not None else True)


def _host(value: str, root: str) -> bool:
    return value.strip() in (platform.node(), _machine_id(root))


def _machine_id(root: str) -> str:
    try:
        with open(_path(root, "etc/machine-id")) as machine:
            return machine.read().strip()
    except OSError:
        return ""


def _kernel_command_line(value: str, root: str) -> bool:
    try:
        with open(_path(root, "proc/cmdline")) as cmdline:
            words = cmdline.read().split()
    except OSError:
        return False
    if "=" in value:
        return value in words
    return any(word == value or word.startswith(value + "=") for word in words)


def _environment(value: str, root: str) -> bool:
    if "=" in value:
        name, _, wanted = value.partition("=")
        return os.environ.get(name) == wanted
    return value in os.environ


def _first_boot(value: str, root: str) -> bool:
    first = not os.path.exists(_path(root, "etc/machine-id")) or not _machine_id(root)
    return first == bool(_boolean(value))


def _needs_program(value: str, root: str) -> bool:
    return shutil.which(value) is not None


def _architecture(value: str, root: str) -> bool:
    machine = platform.machine()
    aliases = {"x86_64": "x86-64", "aarch64": "arm64", "i686": "x86"}
    return value.strip() in (machine, aliases.get(machine, machine))


_CHECKS: dict[str, Callable[[str, str], bool]] = {
    "PathExists": _exists,
    "PathExistsGlob": _exists_glob,
    "PathIsDirectory": _is_dir,
    "PathIsSymbolicLink": _is_symlink,
    "PathIsMountPoint": _is_mount_point,
    "PathIsReadWrite": _is_read_write,
    "FileNotEmpty": _file_not_empty,
    "FileIsExecutable": _file_is_executable,
    "DirectoryNotEmpty": _directory_not_empty,
    "Virtualization": _virtualization,
    "ACPower": _ac_power,
    "Host": _host,
    "KernelCommandLine": _kernel_command_line,
    "Environment": _environment,
    "FirstBoot": _first_boot,
    "Architecture": _architecture,
    "X-NeedsProgram": _needs_program,
}
