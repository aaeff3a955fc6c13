"""A parsed unit -> what the model and the ordering need (pure).

Also where our defaults meet systemd's: a unit that sets none of RestartSec=,
RestartSteps=, RestartMaxDelaySec= gets our doubling backoff (see
backoff.py); one that sets any of them gets systemd's rule exactly. And
TimeoutStartSec does not apply to oneshot services unless set (systemd
disables it for them too).
"""

import math
from collections.abc import Iterable, Mapping

from guestinit.service.backoff import DOUBLING
from guestinit.service.model import ServiceConfig
from guestinit.service.ordering import Deps
from guestinit.service.states import Phase, ServiceType
from guestinit.unitfile import ExecCommand, ServiceSpec, UnitSpec

# Every unit is ordered after these and pulled in by nothing: in a container
# they are reached at once. DefaultDependencies= would add sysinit/basic here.
IMPLICIT_TARGETS = ("sysinit.target", "basic.target")
# The targets a booted systemd has reached; scripts ask about them
# (invoke-rc.d: `systemctl is-active sysinit.target`). Marked active at boot,
# without pulling in what their files want: guestinit starts only its own units.
REACHED_AT_BOOT = (
    "sysinit.target",
    "basic.target",
    "local-fs.target",
    "sockets.target",
    "timers.target",
    "paths.target",
    "slices.target",
    "multi-user.target",
)


# tmpfiles.d applied at boot (systemd orders it before sysinit.target): a
# daemon's /run/NAME must exist before it starts. Waited for only when started.
BOOT_SETUP = ("systemd-tmpfiles-setup.service",)


def phases(service: ServiceSpec) -> dict[Phase, tuple[ExecCommand, ...]]:
    return {
        Phase.CONDITION: service.exec_condition,
        Phase.START_PRE: service.exec_start_pre,
        Phase.START: service.exec_start,
        Phase.START_POST: service.exec_start_post,
        Phase.RELOAD: service.exec_reload,
        Phase.STOP: service.exec_stop,
        Phase.STOP_POST: service.exec_stop_post,
    }


def service_config(spec: UnitSpec) -> ServiceConfig:
    service = spec.service or ServiceSpec()
    commands = {
        phase: tuple(cmd.ignore_failure for cmd in cmds)
        for phase, cmds in phases(service).items()
        if cmds
    }
    explicit = spec.explicit
    restart_keys = {"Service.RestartSec", "Service.RestartSteps", "Service.RestartMaxDelaySec"}
    systemd_backoff = bool(restart_keys & explicit)
    steps = DOUBLING
    if systemd_backoff:  # systemd's RestartSteps= defaults to 0: no growth
        steps = service.restart_steps if "Service.RestartSteps" in explicit else 0
    # systemd's RestartMaxDelaySec= defaults to infinity (no growth); ours caps the doubling.
    max_delay = service.restart_max_delay_sec
    if systemd_backoff and "Service.RestartMaxDelaySec" not in explicit:
        max_delay = math.inf
    timeout_start = service.timeout_start_sec
    if service.type is ServiceType.ONESHOT and not (
        {"Service.TimeoutStartSec", "Service.TimeoutSec"} & explicit
    ):
        timeout_start = math.inf
    return ServiceConfig(
        type=service.type,
        commands=commands,
        remain_after_exit=service.remain_after_exit,
        restart=service.restart,
        restart_sec=service.restart_sec,
        restart_max_delay=max_delay,
        restart_steps=steps,
        restart_prevent=service.restart_prevent_exit_status.codes,
        restart_prevent_signals=service.restart_prevent_exit_status.signals,
        restart_force=service.restart_force_exit_status.codes,
        restart_force_signals=service.restart_force_exit_status.signals,
        success_exit_status=service.success_exit_status.codes,
        success_signals=service.success_exit_status.signals,
        timeout_start=timeout_start,
        timeout_stop=service.timeout_stop_sec,
        kill_mode=service.kill_mode,
        kill_signal=service.kill_signal,
        restart_kill_signal=service.restart_kill_signal,
        final_kill_signal=service.final_kill_signal,
        watchdog_signal=service.watchdog_signal,
        send_sighup=service.send_sighup,
        send_sigkill=service.send_sigkill,
        watchdog_sec=service.watchdog_sec,
        start_limit_interval=spec.start_limit_interval,
        start_limit_burst=spec.start_limit_burst,
    )


def deps(spec: UnitSpec, known: Mapping[str, UnitSpec] | None = None) -> Deps:
    """The unit's dependency lists; with DefaultDependencies=yes a service is
    also ordered after the implicit targets (harmless: they are reached at once)."""
    after = set(spec.after)
    if spec.default_dependencies and spec.name.endswith(".service"):
        after.update(IMPLICIT_TARGETS + BOOT_SETUP)
    return Deps(
        requires=_frozen(spec.requires),
        requisite=_frozen(spec.requisite),
        wants=_frozen(spec.wants),
        binds_to=_frozen(spec.binds_to),
        part_of=_frozen(spec.part_of),
        after=_frozen(after),
        before=_frozen(spec.before),
        conflicts=_frozen(spec.conflicts),
    )


_EMPTY: frozenset[str] = frozenset()


def _frozen(names: Iterable[str]) -> frozenset[str]:
    """One shared empty set: frozenset(()) is a new 216-byte object each time,
    eight per unit."""
    return frozenset(names) or _EMPTY


def refusal(spec: UnitSpec) -> str | None:
    """Why we cannot run this service at all (said once, with the unit's file)."""
    service = spec.service
    if service is None:
        return None
    if service.type is ServiceType.DBUS:
        return "Type=dbus needs a D-Bus system bus, which guestinit does not provide"
    if service.dynamic_user:
        return "DynamicUser=yes is not supported: give the unit a real User="
    return None
