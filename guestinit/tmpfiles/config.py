"""Which tmpfiles.d files apply (reads directories; no changes).

tmpfiles.d(5): a file in /etc/tmpfiles.d hides one of the same name in
/run/tmpfiles.d, /usr/local/lib/tmpfiles.d and /usr/lib/tmpfiles.d (and
/run hides the two below it); a symlink to /dev/null or an empty file masks
the name. The survivors apply sorted by file name, whatever their directory.
``root`` re-roots every path (``--root``).
"""

import os

CONFIG_DIRS = (
    "/etc/tmpfiles.d",
    "/run/tmpfiles.d",
    "/usr/local/lib/tmpfiles.d",
    "/usr/lib/tmpfiles.d",
    "/lib/tmpfiles.d",  # images without a merged /usr
)


def rooted(root: str, path: str) -> str:
    return path if root in ("", "/") else os.path.join(root, path.lstrip("/"))


def masked(path: str) -> bool:
    try:
        return os.path.realpath(path) == "/dev/null" or os.path.getsize(path) == 0
    except OSError:
        return True  # a dangling link hides the name too, and has nothing to apply


def config_files(root: str = "/", dirs: tuple[str, ...] = CONFIG_DIRS) -> list[str]:
    """The files to read, in the order to apply them (masked names left out)."""
    chosen: dict[str, str] = {}
    for directory in dirs:
        try:
            names = os.listdir(rooted(root, directory))
        except OSError:
            continue
        for name in names:
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = os.path.join(rooted(root, directory), name)
    return [chosen[name] for name in sorted(chosen) if not masked(chosen[name])]


def find_config(name: str, root: str = "/", dirs: tuple[str, ...] = CONFIG_DIRS) -> str | None:
    """``mariadb.conf`` given on the command line: the one of highest precedence."""
    for directory in dirs:
        path = os.path.join(rooted(root, directory), name)
        if os.path.lexists(path):
            return None if masked(path) else path
    return None
