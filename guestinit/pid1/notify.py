"""sd_notify messages to whoever started us (podman --sdnotify=container,
systemd-nspawn, a systemd service with Type=notify).

``socket`` is imported only when NOTIFY_SOCKET is set: most runs never pay for it.
"""

import os

from guestinit import _log


class ParentNotifier:
    def __init__(self, address: str | None, log: _log.Log) -> None:
        self._address = address
        self._log = log

    @classmethod
    def from_environment(cls, log: _log.Log) -> "ParentNotifier":
        """Take NOTIFY_SOCKET out of our environment: it is ours, not the main
        process's (it would otherwise report READY=1 on our behalf)."""
        return cls(os.environ.pop("NOTIFY_SOCKET", None), log)

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def send(self, text: str) -> None:
        if not self._address:
            return
        import socket

        address = self._address
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as out:
                out.sendto(text.encode(), address)
        except OSError as error:
            self._log.warning(f"cannot notify {self._address}: {error.strerror or error}")
