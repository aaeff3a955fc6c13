"""The Debian rootfs the container image (and the installer's test) start from,
built once per machine by images/build-rootfs.sh and cached by its inputs."""

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BUILD_ROOTFS = REPO / "images/build-rootfs.sh"
ROOTFS_NAME = "container"
# What the image runs: Python for guestinit, the four daemons, libfuse2 for
# procshim, procps for `free`.
ROOTFS_PACKAGES = (
    "python3",
    "openssh-server",
    "cron",
    "rsyslog",
    "logrotate",
    "libfuse2",
    "procps",
)
BUILD_TIMEOUT = 600  # debootstrap takes about a minute; a slow mirror more


def unavailable_reason() -> str | None:
    """Why the rootfs cannot be built here, or None."""
    if os.geteuid() != 0:
        return "building a Debian rootfs needs root (debootstrap)"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (apt-get install debootstrap)"
    return None


def build_rootfs() -> Path:
    """The cached rootfs's path (built on first use, about a minute)."""
    done = subprocess.run(
        [str(BUILD_ROOTFS), ROOTFS_NAME, *ROOTFS_PACKAGES],
        stdout=subprocess.PIPE,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 1, f"build-rootfs.sh printed more than its path: {lines}"
    return Path(lines[0])
