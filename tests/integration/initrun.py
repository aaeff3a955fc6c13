"""One run of guestinit for a test: started, signalled and awaited by pid."""

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]


def launcher(directory: Path, name: str) -> Path:
    """A program called ``name`` that runs guestinit from this checkout with
    argv[0] as typed (the test-only C launcher, tests/launcher), so the
    personality chosen by argv[0] (tini, dumb-init) and the messages that
    echo it are exercised for real."""
    from tests.launcher import build

    return build(directory, name)


class InitRun:
    def __init__(
        self,
        args: list[str],
        *,
        pid1: bool = True,
        name: str | None = None,
        env: dict[str, str] | None = None,
        executable: str | None = None,
        setup: str | None = None,
        **popen: object,
    ) -> None:
        if executable is not None:
            command = [executable, *args]
        elif name is None:
            command = [sys.executable, "-m", "guestinit", *args]
        else:
            command = [str(launcher(Path(f"/tmp/guestinit-test-{os.getpid()}"), name)), *args]
        if pid1 and setup is not None:
            # A private mount and UTS namespace too; ``setup`` (shell) runs as
            # PID 1 first, e.g. bind mounts over /etc files, then execs guestinit.
            shell = f'{setup}\nexec "$@"'
            unshare = ["unshare", "--pid", "--fork", "--mount-proc", "--mount", "--uts"]
            command = [*unshare, "sh", "-ec", shell, "sh", *command]
        elif pid1:
            command = ["unshare", "--pid", "--fork", "--mount-proc", *command]
        self.command = command
        self.pid1 = pid1
        # The resource shim stays off unless a test asks for it: it would add a
        # FUSE server to every PID-1 run (tests/integration/shim turn it on).
        # tmpfiles.d too: these runs share the machine's root, and its
        # tmpfiles.d (systemd's "D /tmp") must never be applied to it.
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "GUESTINIT_PROCSHIM": "off",
            "GUESTINIT_TMPFILES": "off",
            **(env or {}),
        }
        self.popen = popen
        self.process: subprocess.Popen[bytes] | None = None
        self.stdout = b""
        self.stderr = b""

    def start(self) -> None:
        options: dict[str, object] = {
            "stdout": subprocess.PIPE,
            "stderr": subprocess.PIPE,
            "stdin": subprocess.DEVNULL,
            "start_new_session": True,
        }
        options.update(self.popen)
        self.process = subprocess.Popen(self.command, env=self.env, **options)  # type: ignore[call-overload]

    @property
    def outer_pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def init_pid(self, timeout: float = 10.0) -> int:
        """The host pid of guestinit itself (unshare's child when it is PID 1)."""
        if not self.pid1:
            return self.outer_pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                children = psutil.Process(self.outer_pid).children()
            except psutil.NoSuchProcess:
                break
            if children:
                return children[0].pid
            time.sleep(0.005)
        raise TimeoutError("guestinit did not start")

    def signal(self, number: int) -> None:
        os.kill(self.init_pid(), number)

    def read_line(self, timeout: float = 20.0) -> str:
        """The next line the main process printed on stdout."""
        assert self.process is not None and self.process.stdout is not None
        import select

        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no line from the main process; so far {line!r}")
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if ready:
                byte = os.read(self.process.stdout.fileno(), 1)
                if not byte:
                    raise EOFError(f"stdout closed; so far {line!r}")
                line += byte
        return line.decode().rstrip("\n")

    def wait(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        out, err = self.process.communicate(timeout=timeout)
        self.stdout += out or b""
        self.stderr += err or b""
        return self.process.returncode

    def cleanup(self) -> None:
        """SIGKILL to guestinit ends the whole namespace; in subreaper mode its
        descendants are found and killed by pid."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            victims = psutil.Process(self.outer_pid).children(recursive=True)
        except psutil.NoSuchProcess:
            victims = []
        for victim in [*victims, psutil.Process(self.outer_pid)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                victim.kill()
        try:
            self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            print("guestinit test run did not end after SIGKILL", file=sys.stderr)
