"""What ends a machine, and how: the signal -> action table and reboot(2)'s commands.

systemd's numbers, so tools that signal an init keep working: SIGRTMIN+3 halt,
+4 poweroff, +5 reboot; SIGINT is what the kernel sends for ctrl-alt-del once
it is told not to reboot on its own (RB_DISABLE_CAD), and SIGPWR (a UPS
daemon) and SIGTERM (``kill 1``) power off.
"""

import enum

from guestinit._sig import sig


class Power(enum.Enum):
    POWEROFF = "poweroff"
    REBOOT = "reboot"
    HALT = "halt"


# reboot(2) commands (linux/reboot.h).
RB_AUTOBOOT = 0x01234567
RB_HALT_SYSTEM = 0xCDEF0123
RB_POWER_OFF = 0x4321FEDC
RB_DISABLE_CAD = 0
RB_ENABLE_CAD = 0x89ABCDEF

REBOOT_COMMAND = {
    Power.POWEROFF: RB_POWER_OFF,
    Power.REBOOT: RB_AUTOBOOT,
    Power.HALT: RB_HALT_SYSTEM,
}


def signal_actions(rtmin: int = int(sig.SIGRTMIN)) -> dict[int, Power]:
    """Signal number -> what PID 1 of a machine does when it arrives."""
    return {
        int(sig.SIGINT): Power.REBOOT,
        int(sig.SIGTERM): Power.POWEROFF,
        int(sig.SIGPWR): Power.POWEROFF,
        rtmin + 3: Power.HALT,
        rtmin + 4: Power.POWEROFF,
        rtmin + 5: Power.REBOOT,
    }


def parse_power(text: str | None) -> Power | None:
    """A power word from the control socket or the model (None stays None)."""
    if text is None:
        return None
    return Power(text)
