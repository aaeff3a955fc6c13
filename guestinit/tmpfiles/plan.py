"""The lines of every file -> what to apply, in which order (pure).

tmpfiles.d(5)'s rules: ``!`` lines count only with ``--boot`` (and are
dropped before duplicates are judged); ``--prefix``/``--exclude-prefix``
filter by path; when two files give a conflicting line for one path, the
file whose name sorts first wins and the other line is reported; a path's
configured parents are created before it (and removed after it); lines with
globs come after those without. Otherwise lines apply in the order listed.
"""

import dataclasses

from guestinit.tmpfiles.parse import OWNING_TYPES, Diagnostic, Line, Severity


@dataclasses.dataclass(frozen=True)
class Selection:
    boot: bool = False
    prefixes: tuple[str, ...] = ()
    exclude_prefixes: tuple[str, ...] = ()


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/") or "/"
    return prefix in ("/", path) or path.startswith(prefix + "/")


def wanted(line: Line, selection: Selection) -> bool:
    if line.boot and not selection.boot:
        return False
    if selection.prefixes and not any(_under(line.path, p) for p in selection.prefixes):
        return False
    return not any(_under(line.path, p) for p in selection.exclude_prefixes)


def _same(a: Line, b: Line) -> bool:
    return dataclasses.replace(a, origin="") == dataclasses.replace(b, origin="")


def merge(
    files: list[list[Line]], selection: Selection
) -> tuple[dict[str, list[Line]], list[Diagnostic]]:
    """Path -> its lines, in first-seen order; ``files`` in precedence order
    (sorted by file name, the configuration directories' order applied)."""
    groups: dict[str, list[Line]] = {}
    notes: list[Diagnostic] = []
    for lines in files:
        for line in lines:
            if not wanted(line, selection):
                continue
            group = groups.setdefault(line.path, [])
            owner = next((g for g in group if g.type in OWNING_TYPES), None)
            if owner is not None and line.type in OWNING_TYPES:
                if not _same(owner, line):
                    message = (
                        f'duplicate line for path "{line.path}", ignoring (see {owner.origin})'
                    )
                    notes.append(Diagnostic(line.origin, message, Severity.WARNING))
                continue
            group.append(line)
    return groups, notes


def _ancestors(path: str) -> list[str]:
    """``/a/b/c`` -> ``["/a", "/a/b"]``."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def create_order(groups: dict[str, list[Line]]) -> list[str]:
    """Paths without globs, then with; each after its configured parents."""
    plain = [p for p, lines in groups.items() if not any(line.is_glob for line in lines)]
    globbed = [p for p in groups if p not in set(plain)]
    done: set[str] = set()
    order: list[str] = []
    for path in plain + globbed:
        for parent in [*_ancestors(path), path]:
            if parent in groups and parent not in done:
                done.add(parent)
                order.append(parent)
    return order


def remove_order(groups: dict[str, list[Line]]) -> list[str]:
    """Children before their parents: the creation order reversed."""
    return list(reversed(create_order(groups)))
