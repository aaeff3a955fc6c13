"""The ACPI power button as Linux input events: which devices have KEY_POWER
(from /proc/bus/input/devices) and which records are a press. Pure, except
``open_power_keys``.

A hypervisor's "power down" (qemu's system_powerdown) is an ACPI button press;
the kernel's ``button`` driver turns it into KEY_POWER on an input device, and
``evdev`` gives that device a /dev/input/eventN node. Reading it ourselves means
no acpid is needed.
"""

import os
import struct

EV_KEY = 1
KEY_POWER = 116
PRESSED = 1
# struct input_event on 64-bit: struct timeval (two longs), u16 type, u16 code, s32 value.
EVENT = struct.Struct("llHHi")


def power_key_handlers(devices_text: str) -> list[str]:
    """eventN names of the devices that can send KEY_POWER."""
    found: list[str] = []
    for block in devices_text.split("\n\n"):
        handlers: list[str] = []
        keys = ""
        for line in block.splitlines():
            if line.startswith("H: Handlers="):
                handlers = line.partition("=")[2].split()
            elif line.startswith("B: KEY="):
                keys = line.partition("=")[2]
        if has_bit(keys, KEY_POWER):
            found.extend(h for h in handlers if h.startswith("event"))
    return found


def has_bit(bitmap: str, bit: int, word_bits: int = 64) -> bool:
    """A capability bitmap as the kernel prints it: hex words, most significant first."""
    words = bitmap.split()
    index = len(words) - 1 - bit // word_bits
    if index < 0 or not words:
        return False
    return bool(int(words[index], 16) >> (bit % word_bits) & 1)


def presses(data: bytes) -> int:
    """How many KEY_POWER presses the records in ``data`` hold (a trailing
    partial record is ignored; the kernel never splits one)."""
    count = 0
    for offset in range(0, len(data) - EVENT.size + 1, EVENT.size):
        _sec, _usec, kind, code, value = EVENT.unpack_from(data, offset)
        if kind == EV_KEY and code == KEY_POWER and value == PRESSED:
            count += 1
    return count


def open_power_keys(proc: str = "/proc", dev: str = "/dev/input") -> dict[int, str]:
    """Non-blocking descriptors of every power-key device: {fd: path}."""
    try:
        with open(f"{proc}/bus/input/devices", encoding="utf-8", errors="replace") as file:
            names = power_key_handlers(file.read())
    except OSError:
        return {}
    opened: dict[int, str] = {}
    for name in names:
        path = f"{dev}/{name}"
        try:
            opened[os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)] = path
        except OSError:
            continue
    return opened
