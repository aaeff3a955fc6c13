"""Which mounts a dead shim left behind, from /proc/self/mountinfo text (pure).

Used by procshim at start (a previous instance's leftovers) and by guestinit's
keeper after a crash.

The FUSE mount and every bind of one of its files share one device number,
so after a crash they are found by the device of the mount at the shim's
mount point, whatever each bind's target path is. Nothing here touches the
FUSE filesystem itself: a stat of a hung mount would block PID 1.
"""


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def stale_mounts(mountinfo: str, mountpoint: str) -> tuple[list[str], str | None]:
    """(mount points to detach, binds first and the FUSE mount last; the
    device "major:minor" of the shim's mount, or None if it is not mounted)."""
    entries: list[tuple[str, str]] = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        entries.append((fields[2], _unescape(fields[4])))
    device = next((dev for dev, point in reversed(entries) if point == mountpoint), None)
    if device is None:
        return [], None
    points = [point for dev, point in entries if dev == device]
    # Binds first (newest first), the FUSE mount itself last.
    binds = [p for p in reversed(points) if p != mountpoint]
    return [*dict.fromkeys(binds), mountpoint], device
