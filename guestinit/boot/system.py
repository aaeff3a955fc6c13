"""The small steps of a guest's boot: PATH, hostname, machine-id, entropy seed,
loopback, kernel modules. Each takes its root ("" for /) so tests can run it on a
scratch tree; the pure choices are separate functions."""

import fcntl
import os
import socket
import struct

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_HOSTNAME = "localhost"
SEED_FILE = "/var/lib/guestinit/random-seed"
SEED_BYTES = 512
RNDADDENTROPY = 0x40085203  # _IOW('R', 0x03, int[2])
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def set_path(env: "dict[str, str] | os._Environ[str]") -> None:
    """The kernel starts init with no PATH; services and shells need one."""
    if not env.get("PATH"):
        env["PATH"] = DEFAULT_PATH


# ---- hostname ------------------------------------------------------------------
def choose_hostname(cmdline: dict[str, str], etc_hostname: str | None) -> str:
    """``hostname=`` on the kernel command line, else /etc/hostname, else localhost."""
    for text in (cmdline.get("hostname", ""), etc_hostname or ""):
        for line in text.splitlines():
            name = line.split("#", 1)[0].strip()
            if name:
                return name[:64]
    return DEFAULT_HOSTNAME


def set_hostname(name: str) -> None:
    socket.sethostname(name)


# ---- machine-id ----------------------------------------------------------------
def valid_machine_id(text: str) -> bool:
    text = text.strip()
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text) and set(text) != {"0"}


def ensure_machine_id(root: str = "") -> str:
    """/etc/machine-id: kept when valid, else a new random one (systemd's format:
    32 lower-case hex digits and a newline). A read-only /etc gets it in /run."""
    path = f"{root}/etc/machine-id"
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            current = file.read()
        if valid_machine_id(current):
            return current.strip()
    except OSError:
        pass
    new = os.urandom(16).hex()
    try:
        _write_atomically(path, new + "\n", 0o444)
    except OSError:
        os.makedirs(f"{root}/run", exist_ok=True)
        _write_atomically(f"{root}/run/machine-id", new + "\n", 0o444)
    return new


# ---- entropy --------------------------------------------------------------------
def credit_seed(root: str = "") -> bool:
    """Feed the saved seed to the kernel's pool and replace it at once, so the same
    seed never serves two boots. Credited only when the kernel allows (root);
    returns whether a seed was found."""
    path = root + SEED_FILE
    try:
        with open(path, "rb") as file:
            seed = file.read(SEED_BYTES)
    except OSError:
        seed = b""
    if seed:
        try:
            with open("/dev/urandom", "wb") as pool:
                request = struct.pack("ii", len(seed) * 8, len(seed)) + seed
                fcntl.ioctl(pool, RNDADDENTROPY, request)
        except OSError:
            with open("/dev/urandom", "wb") as pool:
                pool.write(seed)  # mixed in, not credited
    save_seed(root)
    return bool(seed)


def save_seed(root: str = "") -> None:
    path = root + SEED_FILE
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    _write_atomically(path, os.urandom(SEED_BYTES), 0o600)


# ---- loopback -------------------------------------------------------------------
def loopback_up() -> None:
    """``lo`` up with one ioctl: the kernel gives it 127.0.0.1/8 and ::1 itself,
    and PID 1 needs no netlink library for it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


# ---- cgroups ----------------------------------------------------------------------
def enable_controllers(cgroup_root: str = "/sys/fs/cgroup") -> list[str]:
    """Every controller of the root cgroup passed on to its children, as systemd
    does: unit cgroups below get memory.max, cpu.max, ... Returns the enabled ones
    (one write each: a controller the kernel refuses must not block the rest)."""
    try:
        with open(f"{cgroup_root}/cgroup.controllers", encoding="ascii") as file:
            available = file.read().split()
    except OSError:
        return []
    enabled = []
    for name in available:
        try:
            with open(f"{cgroup_root}/cgroup.subtree_control", "w", encoding="ascii") as file:
                file.write(f"+{name}")
            enabled.append(name)
        except OSError:
            continue
    return enabled


# ---- modules-load.d --------------------------------------------------------------
MODULES_DIRS = ("/etc/modules-load.d", "/run/modules-load.d", "/usr/lib/modules-load.d",
                "/lib/modules-load.d")  # fmt: skip


def modules_from(files: dict[str, str]) -> list[str]:
    """Module names from modules-load.d files {name: text}: a file in an earlier
    folder hides one of the same name in a later one (the caller passes them
    already reduced that way), read in name order; # and ; start comments."""
    names: list[str] = []
    for _, text in sorted(files.items()):
        for raw in text.splitlines():
            name = raw.strip()
            if name and name[0] not in "#;" and name not in names:
                names.append(name)
    return names


def read_modules_load(root: str = "") -> list[str]:
    files: dict[str, str] = {}
    for folder in MODULES_DIRS:
        try:
            listing = os.listdir(root + folder)
        except OSError:
            continue
        for name in listing:
            if name.endswith(".conf") and name not in files:
                try:
                    with open(f"{root}{folder}/{name}", encoding="utf-8") as file:
                        files[name] = file.read()
                except OSError:
                    continue
    return modules_from(files)


def load_modules(names: list[str]) -> int:
    """One ``modprobe -a`` for all (its own dependency resolution and aliases);
    runs before the loop exists, so waiting for this one pid races nobody.
    Returns modprobe's exit code (127: no modprobe)."""
    if not names:
        return 0
    for modprobe in ("/sbin/modprobe", "/usr/sbin/modprobe", "/bin/modprobe"):
        if os.access(modprobe, os.X_OK):
            break
    else:
        return 127
    pid = os.posix_spawn(modprobe, [modprobe, "-a", "-b", *names], dict(os.environ))
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _write_atomically(path: str, content: str | bytes, mode: int) -> None:
    scratch = f"{path}.guestinit-new"
    data = content.encode() if isinstance(content, str) else content
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(scratch, path)
