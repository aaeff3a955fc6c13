"""Persistent= stamps: one empty file per timer whose modification time is
the last trigger, as systemd keeps them (side effects; never raises)."""

import os
from datetime import UTC, datetime


def read_stamp(directory: str, timer: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(
            os.stat(os.path.join(directory, f"stamp-{timer}")).st_mtime, UTC
        )
    except OSError:
        return None


def write_stamp(directory: str, timer: str, when: datetime) -> str | None:
    """Record ``when``; returns why it failed, or None."""
    path = os.path.join(directory, f"stamp-{timer}")
    try:
        os.makedirs(directory, exist_ok=True)
        with open(path, "a"):
            pass
        stamp = when.timestamp()
        os.utime(path, (stamp, stamp))
    except OSError as error:
        return f"{path}: {error.strerror}"
    return None
