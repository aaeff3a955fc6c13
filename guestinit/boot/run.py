"""VM guest mode from start to end: boot the machine, run the loop, shut down.

PID 1 of a machine must never exit (the kernel panics): every path ends in
reboot(2), or in an emergency shell on the console, or in waiting forever
with the reason on the console.
"""

import os
import time

from guestinit import _log
from guestinit.boot import cmdline, fstab, mounts, power, system
from guestinit.config import InitConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# The kernel hands init every command-line word it does not know itself
# (runlevels like "single" or "3", "splash", ...): as the machine's init only a
# word that is a path starts a main process; the rest are no command at all.
NETWORK_CONFIG = "/etc/guestinit/network"
# Says "this is VM guest mode" to units (guestinit-wait-online.service waits
# for the network only where it exists; a container has none).
VM_MARKER = "/run/guestinit/vm"


class BootError(Exception):
    """A step the machine cannot boot without."""


def without_kernel_words(command: list[str]) -> list[str]:
    """The main process to run: COMMAND when it starts with a path, else none."""
    return command if command and command[0].startswith("/") else []


def run_vm(config: InitConfig) -> int:
    log = config.log
    started = time.monotonic()
    try:
        helper = boot(log)
    except BootError as error:
        return emergency(log, str(error))
    except Exception:
        _log.print_traceback(log, "boot failed")
        return emergency(log, "unexpected error while booting")
    # CLOCK_MONOTONIC counts from the kernel's start: the first number says what
    # the interpreter and our imports cost before the boot could begin.
    log.info(f"booted from {started:.3f}s to {time.monotonic():.3f}s after the kernel started")
    from guestinit.boot.machine import Machine
    from guestinit.pid1.loop import run_machine
    from guestinit.shim.mode import for_machine

    config.power_signals = {n: p.value for n, p in power.signal_actions().items()}
    config.procshim = for_machine(config.procshim)
    if config.command and not without_kernel_words(config.command):
        log.info(f"kernel arguments for init ignored: {' '.join(config.command)}")
    config.command = without_kernel_words(config.command)
    try:
        code, asked = run_machine(config, lambda signals: Machine(log, helper))
    except Exception:
        _log.print_traceback(log, "the main loop failed")
        return emergency(log, "the main loop failed")
    what = power.parse_power(asked) or power.Power.POWEROFF
    if asked is None:
        log.warning(f"everything has exited (status {code}): powering off")
    return shut_down(log, what)


def shut_down(log: _log.Log, what: power.Power) -> int:
    from guestinit.boot import shutdown

    try:
        shutdown.finish(what, log)
    except Exception:
        _log.print_traceback(log, f"{what.value} failed")
    return emergency(log, f"{what.value} did not happen")


def boot(log: _log.Log) -> int | None:
    """Each step of the boot in order; returns the network helper's pid, if one runs."""
    system.set_path(os.environ)
    step = "mounting the API file systems"
    mounter = mounts.Mounter()
    entries = _fstab_entries(log)
    mounted = _mounted()
    for item in mounts.missing_api_mounts(mounted, entries):
        try:
            mounter.mount(item)
        except OSError as error:
            if item.target in ("/proc", "/sys", "/dev"):
                raise BootError(f"{step}: {error}") from None
            log.warning(f"{step}: {error}")
    mounter.link_dev()
    _disable_ctrl_alt_del(log)
    remount = mounts.root_remount(entries, _root_read_only())
    if remount is not None:
        try:
            mounter.mount(remount)
        except OSError as error:
            log.error(f"remounting / per /etc/fstab: {error}")
    _load_modules(log)
    for item in mounts.fstab_mounts(entries, _mounted()):
        try:
            mounter.mount(item)
        except OSError as error:
            if not item.nofail:
                raise BootError(f"{item.why}: {item.source} on {item.target}: {error}") from None
            log.warning(f"{item.why}: {item.source} on {item.target} (nofail): {error}")
    kernel_args = _read("/proc/cmdline")
    values = cmdline.values(kernel_args)
    hostname = system.choose_hostname(values, _read_or_none("/etc/hostname"))
    _try(log, "setting the hostname", lambda: system.set_hostname(hostname))
    _try(log, "making /etc/machine-id", system.ensure_machine_id)
    _try(log, "seeding the random pool", system.credit_seed)
    _try(log, "bringing up lo", system.loopback_up)
    log.debug(f"cgroup controllers for units: {' '.join(system.enable_controllers())}")
    _try(log, f"writing {VM_MARKER}", _mark_vm)
    if "ip" in values:
        wanted = values["ip"] not in ("off", "none")
    else:
        wanted = os.path.exists(NETWORK_CONFIG)
    if not wanted:
        from guestinit.boot.network import ONLINE, mark_online

        mark_online(ONLINE)  # nothing to configure: network-online.target holds nothing up
        return None
    return _start_network(log)


def _mark_vm() -> None:
    os.makedirs(os.path.dirname(VM_MARKER), exist_ok=True)
    with open(VM_MARKER, "w", encoding="ascii") as file:
        file.write("1\n")


def _start_network(log: _log.Log) -> int | None:
    from guestinit.boot.machine import spawn_network_helper

    try:
        pid = spawn_network_helper()
    except OSError as error:
        log.error(f"cannot start the network helper: {error}")
        from guestinit.boot.network import FAILED_NAME, ONLINE, mark_online

        mark_online(os.path.join(os.path.dirname(ONLINE), FAILED_NAME))  # no waiting for it
        return None
    log.debug(f"network helper {pid} started")
    return pid


def _fstab_entries(log: _log.Log) -> list[fstab.Entry]:
    entries, warnings = fstab.parse(_read("/etc/fstab"))
    for warning in warnings:
        log.warning(warning)
    return entries


def _mounted() -> set[str]:
    return mounts.mounted_targets(_read("/proc/self/mounts"))


def _root_read_only() -> bool:
    return os.statvfs("/").f_flag & os.ST_RDONLY != 0


def _disable_ctrl_alt_del(log: _log.Log) -> None:
    """The kernel then sends us SIGINT for ctrl-alt-del instead of rebooting at once."""
    from guestinit.boot import _libc

    try:
        _libc.reboot(power.RB_DISABLE_CAD)
    except OSError as error:
        log.warning(f"ctrl-alt-del stays a hard reset: {error}")


def _load_modules(log: _log.Log) -> None:
    names = system.read_modules_load()
    if names:
        code = system.load_modules(names)
        if code:
            log.warning(f"modprobe -a {' '.join(names)} exited with {code}")
        else:
            log.debug(f"modules loaded: {' '.join(names)}")


def _try(log: _log.Log, what: str, step: "Callable[[], object]") -> None:
    try:
        step()
    except OSError as error:
        log.warning(f"{what}: {error}")


def _read(path: str) -> str:
    return _read_or_none(path) or ""


def _read_or_none(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return None


# ---- when nothing else is left --------------------------------------------------
SHELLS = ("/bin/sh", "/usr/bin/sh", "/bin/bash")


def emergency(log: _log.Log, why: str) -> int:
    """Say why on the console; run a shell there if there is one, then power off
    when it exits. Without a shell, wait (reaping) forever: exiting would panic."""
    log.error(f"emergency: {why}")
    shell = next((s for s in SHELLS if os.access(s, os.X_OK)), None)
    if shell is not None and os.isatty(0):
        log.error(f"emergency shell {shell} on the console; exit it to power off")
        try:
            pid = os.posix_spawn(shell, [shell], {**os.environ, "PS1": "(emergency) # "})
            while True:
                reaped, _ = os.waitpid(-1, 0)
                if reaped == pid:
                    break
        except OSError as error:
            log.error(f"emergency shell: {error}")
        else:
            return shut_down(log, power.Power.POWEROFF)
    log.error("no shell on a console: waiting forever (PID 1 must not exit)")
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(3600)
        except InterruptedError:
            continue
