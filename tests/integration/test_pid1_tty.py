"""Job control through a real pty: the main process owns the terminal's
foreground, so Ctrl-C and Ctrl-Z reach it as they would from a shell."""

import fcntl
import os
import select
import signal
import termios
import time

import psutil

from tests.integration.conftest import InitFactory, ProgramPath


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.seen = b""

    def expect(self, text: bytes, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {text!r}; screen so far {self.seen!r}"
            if select.select([self.master], [], [], remaining)[0]:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # EIO: every slave end closed
                    break
        assert text in self.seen, self.seen

    def type(self, text: bytes) -> None:
        os.write(self.master, text)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


def test_ctrl_c_and_ctrl_z_reach_the_main_process(init: InitFactory, program: ProgramPath) -> None:
    tty = Terminal()
    try:
        run = init(
            "--",
            *program("tty_job"),
            stdin=tty.slave,
            stdout=tty.slave,
            stderr=tty.slave,
            preexec_fn=_take_terminal,
        )
        tty.expect(b"foreground yes")
        tty.type(b"hello\n")
        tty.expect(b"echo hello")
        main = psutil.Process(run.init_pid()).children()[0]
        tty.type(b"\x1a")  # Ctrl-Z: SIGTSTP to the foreground group
        deadline = time.monotonic() + 10
        while main.status() != psutil.STATUS_STOPPED and time.monotonic() < deadline:
            time.sleep(0.02)
        assert main.status() == psutil.STATUS_STOPPED
        run.signal(signal.SIGCONT)  # forwarded: the job continues
        tty.type(b"again\n")
        tty.expect(b"echo again")
        tty.type(b"\x03")  # Ctrl-C: SIGINT to the foreground group
        assert run.wait() == 128 + signal.SIGINT
    finally:
        tty.close()
