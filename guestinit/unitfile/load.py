"""Finding and reading unit files: the only module of the package that touches disk.

systemd's rules, scaled down to what a container needs:

- the first directory of the search path that has ``NAME`` wins; an instance
  ``foo@bar.service`` with no file of its own uses the template ``foo@.service``;
- a unit file that is empty or a symlink to /dev/null is masked; a symlink to
  another unit file is an alias, loaded under the target's name;
- drop-ins ``*.conf`` come from ``service.d/``, the dash-prefix directories
  (``foo-.service.d/`` for ``foo-bar.service``), the template's and the unit's own
  ``.d/`` directories, in every search-path directory. A file name in an earlier
  directory hides the same name in later ones; the survivors apply sorted by
  file name, whatever their directory;
- ``NAME.wants/`` and ``NAME.requires/`` list extra Wants=/Requires=.

``root`` re-roots every path, so tests run against a temporary directory.
"""

from __future__ import annotations

import errno
import os
import platform
import socket
import stat
from collections.abc import Iterable, Sequence
from dataclasses import replace

from guestinit.unitfile._diagnostics import Diagnostic, Severity
from guestinit.unitfile._names import UnitName, parse_unit_name
from guestinit.unitfile._parse import UnitSource, parse_unit
from guestinit.unitfile._spec import ParseResult
from guestinit.unitfile._specifiers import SpecifierContext

DEFAULT_SEARCH_PATH = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)
_DEV_NULL = "/dev/null"
# Bigger unit files are refused (their lines are capped at 1 MiB by _syntax,
# as systemd does); Debian's largest is under 10 KiB.
MAX_FILE = 4 * 1024 * 1024


def _rooted(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/")) if root not in ("", "/") else path


def _is_masked(path: str) -> bool:
    try:
        if os.path.realpath(path) == _DEV_NULL:
            return True
        info = os.stat(path)
        return stat.S_ISREG(info.st_mode) and info.st_size == 0
    except OSError:
        return False


class UnitFileTooLarge(OSError):
    """A unit file (or drop-in) past MAX_FILE bytes; ``line`` is where the limit falls."""

    def __init__(self, line: int) -> None:
        super().__init__(errno.EFBIG, f"file larger than {MAX_FILE // (1024 * 1024)} MiB")
        self.line = line


def _line_at_limit(fd: int) -> int:
    """The line in which byte MAX_FILE falls, read in small pieces (one big
    buffer would stay in PID 1's heap after use)."""
    lines, left = 1, MAX_FILE
    while left > 0 and (piece := os.read(fd, min(left, 65536))):
        lines += piece.count(b"\n")
        left -= len(piece)
    return lines


def _read(path: str) -> tuple[str, str | None]:
    """(text, warning) — invalid UTF-8 is replaced rather than refused.

    Only regular files are read, and at most MAX_FILE bytes of them: a FIFO
    would block PID 1 in open(), a 16 MB file would cost hundreds of MB once
    parsed."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if info.st_size > MAX_FILE:
            raise UnitFileTooLarge(_line_at_limit(fd))
        data = b""
        while len(data) <= MAX_FILE and (chunk := os.read(fd, MAX_FILE + 1 - len(data))):
            data += chunk
    finally:
        os.close(fd)
    if len(data) > MAX_FILE:  # it grew since fstat
        raise UnitFileTooLarge(data.count(b"\n", 0, MAX_FILE) + 1)
    try:
        return data.decode(), None
    except UnicodeDecodeError:
        return data.decode(errors="replace"), "file is not valid UTF-8; bad bytes replaced"


def _dropin_dir_names(unit: UnitName) -> list[str]:
    """Directory names to search for drop-ins, lowest precedence first."""
    kind = unit.kind.value
    names = [f"{kind}.d"]
    stem = unit.prefix
    parts = stem.split("-")
    names += [f"{'-'.join(parts[:i])}-.{kind}.d" for i in range(1, len(parts))]
    if unit.instance is not None:
        names.append(unit.template + ".d")
    names.append(unit.name + ".d")
    return names


def _dropins(dirs: Sequence[str], unit: UnitName) -> list[str]:
    chosen: dict[str, str] = {}
    for directory in dirs:  # earlier directories hide later ones of the same file name
        for sub in _dropin_dir_names(unit):
            try:
                entries = os.listdir(os.path.join(directory, sub))
            except OSError:
                continue
            for entry in entries:
                if entry.endswith(".conf") and entry not in chosen:
                    chosen[entry] = os.path.join(directory, sub, entry)
    return [chosen[entry] for entry in sorted(chosen) if not _is_masked(chosen[entry])]


def _dependency_dirs(dirs: Sequence[str], unit: UnitName, suffix: str) -> list[str]:
    names: list[str] = []
    candidates = [unit.name] + ([unit.template] if unit.instance else [])
    for directory in dirs:
        for candidate in candidates:
            try:
                entries = sorted(os.listdir(os.path.join(directory, candidate + suffix)))
            except OSError:
                continue
            names += [e for e in entries if e not in names and _valid(e)]
    return names


def _valid(name: str) -> bool:
    try:
        parse_unit_name(name)
    except ValueError:
        return False
    return True


def find_unit_file(name: str, dirs: Sequence[str]) -> str | None:
    """The file that defines ``name``: its own, or its template's."""
    unit = parse_unit_name(name)
    candidates = [unit.name] + ([unit.template] if unit.instance else [])
    for candidate in candidates:
        for directory in dirs:
            path = os.path.join(directory, candidate)
            if os.path.lexists(path):
                return path
    return None


def load_unit(
    name: str,
    *,
    search_path: Sequence[str] = DEFAULT_SEARCH_PATH,
    root: str = "/",
    context: SpecifierContext | None = None,
) -> ParseResult:
    """Find, read and parse ``name`` with its drop-ins; never raises for bad input."""
    dirs = [_rooted(root, d) for d in search_path]
    try:
        unit = parse_unit_name(name)
    except ValueError as exc:
        return ParseResult(None, (Diagnostic(Severity.ERROR, name, 0, str(exc)),))
    path = find_unit_file(name, dirs)
    if path is None:
        message = f"unit {name} not found in {', '.join(search_path)}"
        return ParseResult(None, (Diagnostic(Severity.ERROR, name, 0, message),))
    if _is_masked(path):
        return ParseResult(None, (Diagnostic(Severity.NOTE, path, 0, f"{name} is masked"),))
    notes: list[Diagnostic] = []
    target = os.path.basename(os.path.realpath(path))
    if os.path.islink(path) and target != os.path.basename(path) and _valid(target):
        # An alias symlink (sshd.service -> ssh.service): load under the real name.
        notes.append(Diagnostic(Severity.NOTE, path, 0, f"{name} is an alias of {target}"))
        if unit.instance and parse_unit_name(target).is_template:
            target = parse_unit_name(target).with_instance(unit.instance).name
        unit = parse_unit_name(target)
    sources: list[UnitSource] = []
    for file in [path, *_dropins(dirs, unit)]:
        try:
            text, warning = _read(file)
        except UnitFileTooLarge as exc:
            message = f"{exc.strerror}; the unit is refused"
            return ParseResult(None, (*notes, Diagnostic(Severity.ERROR, file, exc.line, message)))
        except OSError as exc:
            message = f"cannot read: {exc.strerror}"
            return ParseResult(None, (*notes, Diagnostic(Severity.ERROR, file, 0, message)))
        if warning:
            notes.append(Diagnostic(Severity.WARNING, file, 0, warning))
        sources.append(UnitSource(file, text))
    result = parse_unit(unit.name, sources, context)
    diagnostics = (*notes, *result.diagnostics)
    if result.spec is None:
        return ParseResult(None, diagnostics)
    spec = result.spec
    wants = _dependency_dirs(dirs, unit, ".wants")
    requires = _dependency_dirs(dirs, unit, ".requires")
    spec = replace(
        spec,
        wants=_merged(spec.wants, wants),
        requires=_merged(spec.requires, requires),
    )
    return ParseResult(spec, diagnostics)


def _merged(first: Iterable[str], more: Iterable[str]) -> tuple[str, ...]:
    out = list(first)
    out += [name for name in more if name not in out]
    return tuple(out)


def available_units(
    search_path: Sequence[str] = DEFAULT_SEARCH_PATH, root: str = "/"
) -> dict[str, str]:
    """Every unit file name on the search path -> the file that wins for it."""
    found: dict[str, str] = {}
    for directory in (_rooted(root, d) for d in search_path):
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(directory, entry)
            if entry not in found and _valid(entry) and not os.path.isdir(path):
                found[entry] = path
    return found


# systemd's architecture names (ConditionArchitecture=, %a) for common machines.
_ARCHITECTURES = {
    "x86_64": "x86-64",
    "i686": "x86",
    "i386": "x86",
    "aarch64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64-le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def _first_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.readline().strip()
    except OSError:
        return ""


def _os_release(root: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(_rooted(root, candidate), encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for line in lines:
            key, equals, value = line.partition("=")
            if equals and not key.startswith("#"):
                values[key.strip()] = value.strip().strip("\"'")
        break
    return values


def host_context(root: str = "/") -> SpecifierContext:
    """The specifier context of this machine, for the system manager (as root)."""
    import grp
    import pwd

    uid, gid = os.getuid(), os.getgid()
    try:
        user = pwd.getpwuid(uid)
        user_name, home, shell = user.pw_name, user.pw_dir, user.pw_shell
    except KeyError:
        user_name, home, shell = str(uid), "/", "/bin/sh"
    try:
        group_name = grp.getgrgid(gid).gr_name
    except KeyError:
        group_name = str(gid)
    release = _os_release(root)
    hostname = _first_line(_rooted(root, "/etc/hostname")) or socket.gethostname()
    return SpecifierContext(
        hostname=hostname,
        machine_id=_first_line(_rooted(root, "/etc/machine-id")),
        boot_id=_first_line("/proc/sys/kernel/random/boot_id").replace("-", ""),
        kernel_release=platform.release(),
        architecture=_ARCHITECTURES.get(platform.machine(), platform.machine()),
        os_id=release.get("ID", ""),
        os_version_id=release.get("VERSION_ID", ""),
        os_build_id=release.get("BUILD_ID", ""),
        os_image_id=release.get("IMAGE_ID", ""),
        os_image_version=release.get("IMAGE_VERSION", ""),
        user_name=user_name,
        user_id=uid,
        group_name=group_name,
        group_id=gid,
        home=home,
        shell=shell,
        tmp_dir=os.environ.get("TMPDIR", "/tmp"),
    )
