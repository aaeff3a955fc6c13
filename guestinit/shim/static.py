"""The static layer under the live FUSE view: rendered and bound before the
main process starts (see procshim.static for what it is and how fresh).

PID 1 forks a child for it rather than doing it itself: the renderers and
ctypes (mount(2)) come in only in that child, so PID 1's memory and its
no-ctypes rule stay as they were, and a fork of PID 1 costs far less than
starting an interpreter. The child mounts a tmpfs at ``STATIC_DIR``, writes
every file the cgroup's way, binds each over its real path, and exits 0; any
failure exits non-zero after one line on stderr, and the keeper then waits
for the FUSE server before starting the main process, as before.
"""

import contextlib
import os

STATIC_DIR = "/run/guestinit/procshim-static"
EXIT_FAILED = 1

TYPE_CHECKING = False
if TYPE_CHECKING:
    from guestinit.pid1.signals import SignalSource


def fork_static(
    host_fds: dict[str, int], pid: int, signals: "SignalSource", directory: str = STATIC_DIR
) -> int:
    """Fork the child that binds the static files; its pid (reaped by the loop)."""
    child = os.fork()
    if child:
        return child
    code = EXIT_FAILED
    try:
        signals.restore_in_child()
        bind_static(host_fds, pid, directory)
        code = 0
    except BaseException as error:  # said in one line, then exit
        _say(f"procshim: static files not bound: {error}")
    finally:
        os._exit(code)


def bind_static(host_fds: dict[str, int], pid: int, directory: str) -> list[str]:
    """Render, write and bind every file over its real path; the paths bound."""
    from procshim import _libc
    from procshim.static import make_tree, render_all, write_all

    rendered = render_all(host_fds, pid)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    _libc.mount_tmpfs(directory, "mode=0755,size=1m")
    paths = sorted(rendered)
    make_tree(directory, paths)
    write_all(directory, rendered)
    for path in paths:
        _libc.bind(directory + path, path)
    return paths


def _say(text: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, f"guestinit: {text}\n".encode(errors="replace"))
