"""Carry out tmpfiles.d lines on the file system (the side effects).

Every line is applied on its own: a failure is reported as ``file:line:
message`` and the next line goes on. Final path components are never
followed when they are symlinks (but for ``w``, as tmpfiles.d(5) says);
recursive removal and ``Z`` stay on the file system they start on. Parents
that do not exist are made 0755, owned by the caller.
"""

import errno
import glob
import os
import shutil
import stat
from collections.abc import Callable

from guestinit.tmpfiles.config import rooted
from guestinit.tmpfiles.parse import UNSUPPORTED_TYPES, Diagnostic, Line, Severity, Type

_DIRECTORY_TYPES = frozenset(
    {
        Type.CREATE_DIRECTORY,
        Type.EMPTY_DIRECTORY,
        Type.SUBVOLUME,
        Type.SUBVOLUME_INHERIT_QUOTA,
        Type.SUBVOLUME_NEW_QUOTA,
    }
)
FACTORY = "/usr/share/factory"


class Failed(Exception):
    """A line that could not be carried out: the message names why."""


class Applier:
    def __init__(self, root: str = "/") -> None:
        self.root = root
        self.problems: list[Diagnostic] = []
        self.failed = False  # a line could not be carried out (exit 73)

    # ---- entry points ---------------------------------------------------------------
    def remove(self, line: Line) -> None:
        self._guard(line, self._remove, create=False)

    def create(self, line: Line) -> None:
        if line.credential:
            return  # "^": no credentials are passed to us; systemd skips such lines too
        if line.type in UNSUPPORTED_TYPES:
            self._note(line, f"line type {line.type.value!r} is not supported here; ignored")
            return
        self._guard(line, self._create, create=True)

    def _guard(self, line: Line, step: Callable[[Line], None], create: bool) -> None:
        try:
            step(line)
        except Exception as error:  # one line's fault, never the whole run's
            message = _describe(error)
            if not isinstance(error, Failed | OSError | LookupError):
                message = f"internal error: {type(error).__name__}: {message}"
            if create and line.ignore_failure:
                self.problems.append(Diagnostic(line.origin, message, Severity.WARNING))
            else:
                self.problems.append(Diagnostic(line.origin, message))
                self.failed = True

    def _note(self, line: Line, message: str) -> None:
        self.problems.append(Diagnostic(line.origin, message, Severity.WARNING))

    def _at(self, path: str) -> str:
        return rooted(self.root, path)

    def _matches(self, line: Line) -> list[str]:
        if not line.is_glob:
            return [self._at(line.path)] if os.path.lexists(self._at(line.path)) else []
        return sorted(glob.glob(self._at(line.path)))

    # ---- --remove ---------------------------------------------------------------------
    def _remove(self, line: Line) -> None:
        if line.type is Type.REMOVE:
            for path in self._matches(line):
                try:
                    if _is_dir(path):
                        os.rmdir(path)
                    else:
                        os.unlink(path)
                except OSError as error:
                    if error.errno != errno.ENOENT:
                        raise Failed(f"cannot remove {path}: {error.strerror}") from None
        elif line.type is Type.REMOVE_RECURSIVE:
            for path in self._matches(line):
                _remove_tree(path, keep_top=False)
        elif line.type is Type.EMPTY_DIRECTORY:
            path = self._at(line.path)
            if _is_dir(path):
                _remove_tree(path, keep_top=True)

    # ---- --create ---------------------------------------------------------------------
    def _create(self, line: Line) -> None:
        kind = line.type
        path = self._at(line.path)
        if kind in _DIRECTORY_TYPES:
            self._directory(line, path)
        elif kind in (Type.CREATE_FILE, Type.TRUNCATE_FILE):
            self._file(line, path)
        elif kind is Type.WRITE_FILE:
            for match in self._matches(line):
                self._write(line, match)
        elif kind is Type.CREATE_FIFO:
            self._node(line, path, stat.S_IFIFO, 0)
        elif kind in (Type.CREATE_CHAR_DEVICE, Type.CREATE_BLOCK_DEVICE):
            major, _, minor = (line.argument or "").partition(":")
            node = stat.S_IFCHR if kind is Type.CREATE_CHAR_DEVICE else stat.S_IFBLK
            self._node(line, path, node, os.makedev(int(major), int(minor)))
        elif kind is Type.CREATE_SYMLINK:
            self._symlink(line, path)
        elif kind is Type.COPY:
            self._copy(line, path)
        elif kind in (Type.ADJUST, Type.ADJUST_DIRECTORY):
            for match in self._matches(line):
                if kind is Type.ADJUST or _is_dir(match):
                    self._set_perms(line, match, created=False)
        elif kind is Type.ADJUST_RECURSIVE:
            for match in self._matches(line):
                for each in _walk(match):
                    self._set_perms(line, each, created=False)
        # x, X: they only shape cleaning by age, which is not done here.

    def _parents(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)

    def _directory(self, line: Line, path: str) -> None:
        created = False
        if not os.path.lexists(path):
            self._parents(path)
            try:
                os.mkdir(path, line.mode if line.mode is not None else 0o755)
                created = True
            except FileExistsError:
                pass  # made meanwhile: adjust it as an existing one
        if not _is_dir(path):
            raise Failed(f"{line.path} exists and is not a directory")
        self._set_perms(line, path, created)

    def _file(self, line: Line, path: str) -> None:
        truncate = line.type is Type.TRUNCATE_FILE
        self._parents(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        mode = line.mode if line.mode is not None else 0o644
        created = False
        try:
            fd = os.open(path, flags | os.O_EXCL, mode)
            created = True
        except FileExistsError:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                raise Failed(f"{line.path} exists and is not a regular file") from None
            if not truncate:
                self._set_perms(line, path, created=False)
                return
            fd = os.open(path, flags | os.O_TRUNC, mode)
        try:
            if line.content is not None:
                _write_all(fd, line.content)
        finally:
            os.close(fd)
        self._set_perms(line, path, created)

    def _write(self, line: Line, path: str) -> None:
        if line.content is None:
            return
        flags = os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
        fd = os.open(path, flags | (os.O_APPEND if line.plus else 0))
        try:
            _write_all(fd, line.content)
        finally:
            os.close(fd)

    def _node(self, line: Line, path: str, kind: int, device: int) -> None:
        mode = line.mode if line.mode is not None else 0o644
        wanted_type = stat.S_IFMT(kind)
        created = False
        if os.path.lexists(path) and stat.S_IFMT(os.lstat(path).st_mode) != wanted_type:
            if not line.plus:
                raise Failed(f"{line.path} exists and is of another file type")
            _remove_tree(path, keep_top=False)
        elif os.path.lexists(path) and line.plus and device:
            os.unlink(path)  # b+/c+: numbers may differ; make it anew
        if not os.path.lexists(path):
            self._parents(path)
            os.mknod(path, kind | mode, device)
            created = True
        self._set_perms(line, path, created)

    def _symlink(self, line: Line, path: str) -> None:
        target = line.argument or os.path.join(FACTORY, line.path.lstrip("/"))
        if os.path.islink(path) and os.readlink(path) == target:
            return
        if os.path.lexists(path):
            if not line.plus:
                self._note(line, f"{line.path} exists and is not a symlink to {target}; left alone")
                return
            _remove_tree(path, keep_top=False)
        self._parents(path)
        os.symlink(target, path)

    def _copy(self, line: Line, path: str) -> None:
        source = self._at(line.argument or os.path.join(FACTORY, line.path.lstrip("/")))
        if not os.path.lexists(source):
            return  # nothing to copy (systemd's /.extra/ files are optional): skipped
        if os.path.lexists(path) and not (_is_dir(path) and not os.listdir(path)):
            return  # there already, and not an empty directory: nothing to do
        self._parents(path)
        if _is_dir(source):
            shutil.copytree(source, path, symlinks=True, dirs_exist_ok=True)
            for each in _walk(path):
                _copy_owner(each, os.path.join(source, os.path.relpath(each, path)))
        else:
            shutil.copy2(source, path, follow_symlinks=False)
            _copy_owner(path, source)
        self._set_perms(line, path, created=True)

    # ---- mode and owner ---------------------------------------------------------------
    def _set_perms(self, line: Line, path: str, created: bool) -> None:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            return  # permissions of symlinks mean nothing
        if line.mode is not None and (created or not line.mode_create_only):
            mode = _masked_mode(line.mode, info.st_mode) if line.mode_masked else line.mode
            if stat.S_IMODE(info.st_mode) != mode:
                os.chmod(path, mode)
        if (line.user or line.group) and (created or not line.owner_create_only):
            uid = lookup_id(line.user, self.root, "passwd") if line.user else -1
            gid = lookup_id(line.group, self.root, "group") if line.group else -1
            if (uid, gid) != (info.st_uid if uid >= 0 else -1, info.st_gid if gid >= 0 else -1):
                os.lchown(path, uid, gid)


def _masked_mode(mode: int, current: int) -> int:
    """``~MODE``: bits the file lacks entirely stay off (tmpfiles.d(5))."""
    if not current & 0o111:
        mode &= ~0o111
    if not current & 0o444:
        mode &= ~0o444
    if not current & 0o222:
        mode &= ~0o222
    if not stat.S_ISDIR(current):
        mode &= ~0o7000
    return mode


def lookup_id(name: str, root: str, database: str) -> int:
    """A user or group name (or number) -> its id; from ROOT/etc/passwd or
    /etc/group under ``--root``, through NSS otherwise."""
    if name.isdigit():
        return int(name)
    if root in ("", "/"):
        import grp
        import pwd

        try:
            if database == "passwd":
                return pwd.getpwnam(name).pw_uid
            return grp.getgrnam(name).gr_gid
        except KeyError:
            kind = "user" if database == "passwd" else "group"
            raise LookupError(f"unknown {kind} {name!r}") from None
    with open(rooted(root, f"/etc/{database}"), encoding="utf-8", errors="replace") as table:
        for row in table:
            fields = row.split(":")
            if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
                return int(fields[2])
    raise LookupError(f"unknown {'user' if database == 'passwd' else 'group'} {name!r}")


def _copy_owner(path: str, source: str) -> None:
    info = os.lstat(source)
    os.lchown(path, info.st_uid, info.st_gid)


def _is_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _walk(top: str) -> list[str]:
    """``top`` and everything below it on the same file system, no links followed."""
    found = [top]
    if not _is_dir(top):
        return found
    device = os.lstat(top).st_dev
    for folder, dirs, files in os.walk(top):
        kept = []
        for name in dirs:
            full = os.path.join(folder, name)
            if os.lstat(full).st_dev == device:
                kept.append(name)
            found.append(full)
        dirs[:] = kept
        found += [os.path.join(folder, name) for name in files]
    return found


def _remove_tree(path: str, keep_top: bool) -> None:
    """rm -rf that stays on ``path``'s file system (mounts below are kept)."""
    if not _is_dir(path):
        if not keep_top:
            os.unlink(path)
        return
    device = os.lstat(path).st_dev
    for name in os.listdir(path):
        child = os.path.join(path, name)
        if _is_dir(child):
            if os.lstat(child).st_dev == device:
                _remove_tree(child, keep_top=False)
        else:
            os.unlink(child)
    if not keep_top:
        os.rmdir(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f" {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    if isinstance(error, LookupError) and error.args:
        return str(error.args[0])
    return str(error) or type(error).__name__
