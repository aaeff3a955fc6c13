"""What the network helper's two halves (network.py's static setup and dhcp.py's
lease hooks) both do to the outside world: say a line on stderr and write
/etc/resolv.conf. A module of its own so neither half imports the other."""

import os


def say(text: str) -> None:
    os.write(2, f"guestinit-network: {text}\n".encode(errors="replace"))


def write_resolv(path: str, text: str | None) -> None:
    """Replace ``path`` with ``text`` in one rename; None leaves it alone."""
    if text is None:
        return
    scratch = f"{path}.guestinit-new"
    try:
        if os.path.islink(path):
            os.unlink(path)  # a dangling link to a resolver daemon's file
        with open(scratch, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(scratch, path)
    except OSError as error:
        say(f"cannot write {path}: {error.strerror}")
