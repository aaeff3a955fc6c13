"""/etc/fstab text -> entries, and mount options -> mount(2) flags. Pure.

fstab(5): six whitespace-separated fields, the last two optional; spaces in a
field are written ``\\040`` (any ``\\ooo`` octal escape is decoded).
"""

import re
from dataclasses import dataclass

# mount(2) flags (linux/mount.h) named by options.
_SETS = {
    "ro": 1,  # MS_RDONLY
    "nosuid": 2,
    "nodev": 4,
    "noexec": 8,
    "sync": 16,
    "dirsync": 128,
    "noatime": 1024,
    "nodiratime": 2048,
    "relatime": 1 << 21,
    "strictatime": 1 << 24,
    "lazytime": 1 << 25,
}
_CLEARS = {"rw": 1, "suid": 2, "dev": 4, "exec": 8, "async": 16, "atime": 1024, "diratime": 2048}
# Options for mount(8) and the init, never passed to the kernel.
_USERSPACE = frozenset(
    {"defaults", "auto", "noauto", "nofail", "user", "nouser", "users", "owner", "group",
     "_netdev", "remount", "bind", "rbind", "loop"}
)  # fmt: skip
_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Entry:
    spec: str  # /dev/vda1, UUID=..., LABEL=..., tmpfs
    target: str
    fstype: str
    options: tuple[str, ...]
    passno: int = 0
    line: int = 0

    @property
    def nofail(self) -> bool:
        return "nofail" in self.options

    @property
    def noauto(self) -> bool:
        return "noauto" in self.options

    @property
    def read_only(self) -> bool:
        return mount_flags(self.options)[0] & 1 == 1

    @property
    def is_swap(self) -> bool:
        return self.fstype == "swap"

    @property
    def is_bind(self) -> bool:
        return "bind" in self.options or "rbind" in self.options


def _unescape(field: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse(text: str) -> tuple[list[Entry], list[str]]:
    """Entries in file order, and a warning for each line that was skipped."""
    entries: list[Entry] = []
    warnings: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3:
            warnings.append(f"/etc/fstab:{number}: fewer than 3 fields, skipped")
            continue
        options = tuple(o for o in _unescape(fields[3]).split(",") if o) if len(fields) > 3 else ()
        passno = fields[5] if len(fields) > 5 else "0"
        if not passno.isdigit():
            warnings.append(f"/etc/fstab:{number}: pass number {passno!r} is not a number")
            passno = "0"
        target = _unescape(fields[1])
        if target != "/" and target.endswith("/"):
            target = target.rstrip("/")
        entries.append(
            Entry(_unescape(fields[0]), target, fields[2], options or ("defaults",),
                  int(passno), number)
        )  # fmt: skip
    return entries, warnings


def mount_flags(options: tuple[str, ...]) -> tuple[int, str]:
    """(flags, data) for mount(2): known options become flags in order (the last
    of rw/ro wins), userspace-only ones are dropped, the rest go to the file system."""
    flags = 0
    data: list[str] = []
    for option in options:
        if option in _SETS:
            flags |= _SETS[option]
        elif option in _CLEARS:
            flags &= ~_CLEARS[option]
        elif option in _USERSPACE or option.startswith(("x-", "comment=")):
            continue
        else:
            data.append(option)
    return flags, ",".join(data)


def root_entry(entries: list[Entry]) -> Entry | None:
    for entry in entries:
        if entry.target == "/":
            return entry
    return None
