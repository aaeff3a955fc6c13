import errno
import os
import signal
from pathlib import Path

import pytest

from guestinit.service.executor import ENVIRONMENT_FILE_MAX, read_environment_file


def test_environment_file_lines(tmp_path: Path) -> None:
    path = tmp_path / "env"
    path.write_text("# comment\nA=1\nexport B=\"two words\"\nC='x'\\\n\nbad line\n")
    assert read_environment_file(str(path)) == {"A": "1", "B": "two words", "C": "x"}


def test_an_environment_file_that_would_block_or_bloat_pid_1_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    signal.alarm(10)  # a blocking open() would end the test here
    try:
        with pytest.raises(OSError) as raised:
            read_environment_file(str(fifo))
    finally:
        signal.alarm(0)
    assert raised.value.errno == errno.EINVAL
    big = tmp_path / "big"
    big.write_bytes(b"A=1\n" * (ENVIRONMENT_FILE_MAX // 4 + 1))
    with pytest.raises(OSError) as raised:
        read_environment_file(str(big))
    assert raised.value.errno == errno.EFBIG
