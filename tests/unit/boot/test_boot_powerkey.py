"""KEY_POWER from /proc/bus/input/devices and input_event records."""

import struct
from pathlib import Path

from guestinit.boot.powerkey import EVENT, KEY_POWER, has_bit, power_key_handlers, presses

# /proc/bus/input/devices captured in the test guest (Debian 6.1 under qemu: the
# i8042 keyboard, then the ACPI button once `button` and `evdev` are loaded), plus
# a mouse block without KEY_POWER; the kernel leaves a space after the handlers.
DEVICES = (Path(__file__).parent / "input-devices-qemu.txt").read_text()


def test_devices_that_can_send_key_power() -> None:
    assert power_key_handlers(DEVICES) == ["event0", "event1"]  # keyboard, button
    assert power_key_handlers("") == []


def test_has_bit_counts_words_from_the_right() -> None:
    assert has_bit("10000000000000 0", KEY_POWER)  # bit 116 = word 1, bit 52
    assert not has_bit("1f0000 0 0 0 0", KEY_POWER)
    assert has_bit("1", 0) and not has_bit("1", 64) and not has_bit("", 0)


def record(kind: int, code: int, value: int) -> bytes:
    return EVENT.pack(1, 2, kind, code, value)


def test_presses_count_key_down_only() -> None:
    sync = record(0, 0, 0)
    data = record(1, KEY_POWER, 1) + sync + record(1, KEY_POWER, 0) + sync
    assert presses(data) == 1
    assert presses(record(1, 30, 1)) == 0  # KEY_A
    assert presses(data * 2 + b"\0" * 5) == 2  # a trailing fragment is ignored
    assert EVENT.size == struct.calcsize("llHHi") == 24
