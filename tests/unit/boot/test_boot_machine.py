"""The machine's part of the loop with real descriptors: a pipe stands in for the
power button's event device, a short-lived child for the network helper."""

import os
import subprocess
from pathlib import Path

from guestinit import _log
from guestinit.boot.machine import Machine
from guestinit.boot.powerkey import EVENT, KEY_POWER
from guestinit.pid1 import model


def machine_with_key(tmp_path: Path, helper: int | None = None) -> tuple[Machine, int]:
    """A Machine whose power key is the read end of a pipe; returns the write end."""
    (tmp_path / "bus/input").mkdir(parents=True)
    (tmp_path / "bus/input/devices").write_text("")  # no real device is opened
    machine = Machine(_log.Log(_log.ERROR), helper, proc=str(tmp_path))
    machine.start(0.0)
    read_end, write_end = os.pipe2(os.O_NONBLOCK)
    machine._keys[read_end] = "pipe"
    return machine, write_end


def test_ready_at_once_and_the_power_key_asks_for_poweroff(tmp_path: Path) -> None:
    machine, key = machine_with_key(tmp_path)
    try:
        assert [type(e) for e in machine.events()] == [model.UnitsReady]
        (read_end,) = machine.readers()
        os.write(key, EVENT.pack(0, 0, 1, 30, 1))  # KEY_A: nothing
        machine.readers()[read_end]()
        assert machine.events() == []
        os.write(key, EVENT.pack(0, 0, 1, KEY_POWER, 1) + EVENT.pack(0, 0, 0, 0, 0))
        machine.readers()[read_end]()
        (event,) = machine.events()
        assert isinstance(event, model.ExitRequested) and event.power == "poweroff"
    finally:
        os.close(key)
        machine.close()
    assert machine.readers() == {}


def test_stopped_once_the_network_helper_is_reaped(tmp_path: Path) -> None:
    helper = subprocess.Popen(["sleep", "30"])
    machine, key = machine_with_key(tmp_path, helper.pid)
    try:
        machine.events()
        assert not machine.claim(helper.pid + 100000, 0, 0.0)  # not ours
        machine.stop_all(1.0)
        assert machine.events() == []  # SIGTERM sent, the helper not yet gone
        _, status = os.waitpid(helper.pid, 0)
        helper.returncode = -15
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 15
        assert machine.claim(helper.pid, status, 1.1)
        assert [type(e) for e in machine.events()] == [model.UnitsStopped]
        machine.tick(1.2)
        assert machine.events() == []  # said once
    finally:
        if helper.poll() is None:
            helper.kill()
            helper.wait()
        os.close(key)
        machine.close()


def test_without_a_helper_stop_is_immediate(tmp_path: Path) -> None:
    machine, key = machine_with_key(tmp_path)
    try:
        machine.events()
        machine.stop_all(0.0)
        assert [type(e) for e in machine.events()] == [model.UnitsStopped]
    finally:
        os.close(key)
        machine.close()
