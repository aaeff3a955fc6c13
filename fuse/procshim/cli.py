"""procshim's command line: ``mount`` (in a container), ``serve`` (host mode), ``check``.

    procshim mount [--mountpoint DIR] [--ready-fd N] [--pid PID] [--no-bind] [--view V]
                   [--static DIR] [--host-fd PATH=FD]...
    procshim serve MOUNTPOINT [-f] [--view caller|init] [--pidfile FILE]
    procshim check [--pid PID] [--json]

Exit status: 0 after a stop signal; 69 (EX_UNAVAILABLE) when FUSE cannot be
had here (no binding, no /dev/fuse, the mount refused) — said on stderr; 2
for usage errors; 1 when serving ended for another reason.
"""

import argparse
import contextlib
import os
import sys

from procshim import __version__
from procshim.binding import Unavailable, load_binding
from procshim.files import KeptFiles
from procshim.host import HostFiles
from procshim.loadtrack import LoadTracker
from procshim.serve import (
    Server,
    Stop,
    clear_leftovers,
    keep_alive,
    say,
    stop_signals_blocked,
)
from procshim.snapshot import Snapshots
from procshim.targets import CALLER, VIEWS, Targets
from procshim.views import VIEWS as FILES

EX_UNAVAILABLE = 69
DEFAULT_MOUNTPOINT = "/run/guestinit/procshim"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        from procshim.check import check

        return check(args.pid, args.json)
    if args.command == "serve":
        return _serve(args)
    return _mount(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="procshim", description="/proc and /sys files that tell the cgroup's real limits"
    )
    parser.add_argument("-V", "--version", action="version", version=f"procshim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    mount = commands.add_parser(
        "mount", help="serve this container: bind the files over /proc and /sys here"
    )
    mount.add_argument("--mountpoint", default=DEFAULT_MOUNTPOINT, help="the FUSE mount")
    mount.add_argument(
        "--ready-fd", type=int, help="write READY guard=PID, then ALIVE 4 times a second"
    )
    mount.add_argument("--pid", type=int, default=1, help="the container's init (default 1)")
    mount.add_argument("--no-bind", dest="bind", action="store_false", help="mount only")
    mount.add_argument(
        "--static",
        metavar="DIR",
        help="keep the static files under DIR (guestinit's layer under ours) fresh",
    )
    mount.add_argument(
        "--host-fd",
        action="append",
        default=[],
        metavar="PATH=FD",
        help="read the host's PATH through the inherited descriptor FD",
    )
    _common(mount)

    serve = commands.add_parser(
        "serve", help="host mode: every reader gets its own cgroup's view (like LXCFS)"
    )
    serve.add_argument("mountpoint", help="e.g. /var/lib/procshim; files at MOUNTPOINT/proc/...")
    serve.add_argument("-f", "--foreground", action="store_true", help="do not daemonize")
    serve.add_argument("--pidfile", help="write the server's pid here")
    _common(serve)

    check = commands.add_parser("check", help="print the readings and views for a process")
    check.add_argument("--pid", type=int, default=os.getpid(), help="default: this process")
    check.add_argument("--json", action="store_true", help="readings as JSON")
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--view",
        choices=VIEWS,
        default=CALLER,
        help="whose cgroup answers a read: the reader's (default) or its PID namespace's init's",
    )
    # One request at a time by default: measured (bench/procshim.py), 8 readers
    # get about twice the opens per second from one thread as from libfuse's
    # thread pool, whose threads only queue for the GIL; every request is a
    # few reads of /proc and cgroupfs, which do not block.
    parser.add_argument(
        "--threads", action="store_true", help="serve requests on libfuse's thread pool"
    )


def _server(args: argparse.Namespace, default_pid: int) -> Server:
    binding = load_binding()
    # A killed instance's binds would answer these opens with ENOTCONN.
    clear_leftovers(args.mountpoint.rstrip("/") or "/")
    # Opened before the binds: these descriptors reach the real files afterwards
    # (guestinit's, opened before its static layer, when it passes them).
    given = _host_fds(getattr(args, "host_fd", []))
    host = HostFiles.from_fds(given) if given else HostFiles(FILES)
    targets = Targets(KeptFiles(), view=args.view, default_pid=default_pid)
    snapshots = Snapshots(host, targets, LoadTracker())
    server = Server(args.mountpoint, snapshots, binding, threads=args.threads)
    server.static_dir = getattr(args, "static", None)
    server.static_pid = default_pid
    return server


def _host_fds(pairs: list[str]) -> dict[str, int]:
    fds = {}
    for pair in pairs:
        path, _, number = pair.rpartition("=")
        if not path.startswith("/") or not number.isdigit():
            raise SystemExit(f"procshim: --host-fd takes PATH=FD, got {pair!r}")
        fds[path] = int(number)
    return fds


def _mount(args: argparse.Namespace) -> int:
    server: Server | None = None
    try:
        server = _server(args, args.pid)
        server.guarded = True
        server.start()
        if args.bind:
            failed = server.bind_all()
            if failed:
                say("not bound: " + ", ".join(failed))
            if not server.bound:
                raise Unavailable("no file could be bound over /proc or /sys")
        if args.ready_fd is not None:
            guard = "" if server.guard is None else f" guard={server.guard.pid}"
            os.write(args.ready_fd, f"READY{guard}\n".encode())
        keep_alive(server, args.ready_fd)
        say("the FUSE loop ended")
        return 1
    except Stop:
        return 0
    except Unavailable as why:
        say(str(why))
        return EX_UNAVAILABLE
    finally:
        if server is not None:
            with stop_signals_blocked():
                server.stop()


def _serve(args: argparse.Namespace) -> int:
    """Host mode; without -f, returns once mounted and leaves the server running."""
    if not args.foreground:
        read_end, write_end = os.pipe()
        child = os.fork()
        if child:
            os.close(write_end)
            return _wait_ready(read_end, child)
        os.close(read_end)
        os.setsid()
    else:
        write_end = None
    server: Server | None = None
    try:
        server = _server(args, 1)
        server.start()
        if args.pidfile:
            with open(args.pidfile, "w") as file:
                file.write(f"{os.getpid()}\n")
        if write_end is not None:
            os.write(write_end, b"READY\n")
            os.close(write_end)
            _detach_stdio()
        keep_alive(server, None)
        return 1
    except Stop:
        return 0
    except Unavailable as why:
        say(str(why))
        return EX_UNAVAILABLE
    finally:
        if server is not None:
            with stop_signals_blocked():
                server.stop()
        if args.pidfile:
            with contextlib.suppress(OSError):
                os.unlink(args.pidfile)


def _wait_ready(read_end: int, child: int) -> int:
    with os.fdopen(read_end, "rb") as pipe:
        if pipe.read().startswith(b"READY"):
            return 0
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) or 1


def _detach_stdio() -> None:
    """A daemon keeps no terminal or ssh session open: stdio goes to /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


if __name__ == "__main__":
    sys.exit(main())
