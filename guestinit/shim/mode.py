"""Whether to run the resource shim: what was asked, and what the machine allows."""

import os

AUTO = "auto"  # when PID 1 in a container and the machine allows it; else say why once
ON = "on"  # wherever the machine allows it, also when not PID 1
OFF = "off"
REQUIRED = "required"  # as ON, and not being able to is fatal
MODES = (AUTO, ON, OFF, REQUIRED)

CAP_SYS_ADMIN = 21
FUSE_DEVICE = os.makedev(10, 229)  # misc/fuse on every Linux


def parse_mode(text: str) -> str:
    mode = text.strip().lower()
    if mode in ("yes", "true", "1"):
        return ON
    if mode in ("no", "false", "0"):
        return OFF
    if mode not in MODES:
        raise ValueError(f"--procshim takes one of {', '.join(MODES)}, got {text!r}")
    return mode


def missing_capability(status_text: str, fuse_device: str = "/dev/fuse") -> str | None:
    """Why the shim cannot mount here (None: it can), from /proc/self/status text.

    Checked before spawning anything, so a container without FUSE pays one file
    read, not a Python process start.
    """
    try:
        device = os.stat(fuse_device)
    except OSError:
        return f"{fuse_device} is missing (docker run --device /dev/fuse)"
    if (device.st_mode & 0o170000) != 0o020000 or device.st_rdev != FUSE_DEVICE:
        return f"{fuse_device} is not the FUSE device (char 10:229)"
    if not os.access(fuse_device, os.R_OK | os.W_OK):
        return f"{fuse_device} is not readable and writable"
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            effective = int(line.split()[1], 16)
            if not effective & (1 << CAP_SYS_ADMIN):
                return "CAP_SYS_ADMIN is missing (docker run --cap-add SYS_ADMIN)"
            return None
    return "cannot read our capabilities from /proc/self/status"


def wanted(mode: str, is_pid1: bool) -> bool:
    """Whether to try at all (before asking the machine)."""
    if mode == OFF:
        return False
    return is_pid1 or mode != AUTO


def for_machine(mode: str) -> str:
    """The mode in VM guest mode: ``auto`` means off there. A machine's init sees
    the whole machine's memory and CPUs anyway; the shim is for containers (ON
    and REQUIRED still run it, e.g. to test cgroup v2 views inside a guest)."""
    return OFF if mode == AUTO else mode
