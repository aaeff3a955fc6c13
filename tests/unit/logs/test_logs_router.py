"""The router's partial-line flush with a real pipe: a line whose rest already
waits in the pipe is never cut in two."""

import os

import pytest

from guestinit import _log
from guestinit.logs.router import PARTIAL_DELAY, LogRouter


def test_a_partial_line_is_not_cut_while_its_rest_waits_in_the_pipe(
    capfd: pytest.CaptureFixture[str],
) -> None:
    router = LogRouter(_log.Log(_log.ERROR), "plain")
    read_fd, write_fd = router.new_pipe()
    router.attach(read_fd, "web", 42)
    try:
        os.write(write_fd, b"first half ")
        router.readers()[read_fd]()  # reads the partial line
        os.write(write_fd, b"second half\n")  # not read yet: we were slow
        router.tick(1e12)  # long past the delay
        assert capfd.readouterr().out == ""
        router.readers()[read_fd]()
        assert capfd.readouterr().out == "first half second half\n"
        os.write(write_fd, b"Password: ")  # a prompt: nothing more comes
        router.readers()[read_fd]()
        deadline = router.next_deadline()
        assert deadline is not None
        router.tick(deadline + PARTIAL_DELAY)
        assert capfd.readouterr().out == "Password: \n"
    finally:
        os.close(write_fd)
        router.close()
