"""Which signal does what to a machine, and how the model carries it to the end."""

import signal

from guestinit.boot.power import (
    RB_AUTOBOOT,
    RB_HALT_SYSTEM,
    RB_POWER_OFF,
    REBOOT_COMMAND,
    Power,
    parse_power,
    signal_actions,
)
from guestinit.config import InitConfig
from guestinit.pid1 import model

RTMIN = int(signal.SIGRTMIN)


def test_systemd_numbers_and_the_kernel_signals() -> None:
    table = signal_actions()
    assert table[int(signal.SIGINT)] is Power.REBOOT  # ctrl-alt-del with CAD disabled
    assert table[int(signal.SIGTERM)] is Power.POWEROFF
    assert table[int(signal.SIGPWR)] is Power.POWEROFF
    assert table[RTMIN + 3] is Power.HALT
    assert table[RTMIN + 4] is Power.POWEROFF
    assert table[RTMIN + 5] is Power.REBOOT
    assert int(signal.SIGHUP) not in table and int(signal.SIGUSR1) not in table


def test_reboot_commands_are_linux_reboot_h() -> None:
    assert REBOOT_COMMAND == {
        Power.POWEROFF: RB_POWER_OFF,
        Power.REBOOT: RB_AUTOBOOT,
        Power.HALT: RB_HALT_SYSTEM,
    }
    assert RB_POWER_OFF == 0x4321FEDC and RB_AUTOBOOT == 0x01234567
    assert parse_power("reboot") is Power.REBOOT and parse_power(None) is None


def machine_policy(has_units: bool = True) -> model.Policy:
    config = InitConfig([])
    config.power_signals = {n: p.value for n, p in signal_actions().items()}
    return model.Policy(config, drain=True, has_units=has_units)


def test_a_power_signal_stops_the_units_and_is_remembered() -> None:
    policy = machine_policy()
    state = model.start(None)
    state, actions = model.step(state, model.Signal(int(signal.SIGINT)), 0.0, policy)
    assert state.phase == model.UNITS_STOPPING and state.power == "reboot"
    assert model.StopUnits() in actions
    # A later one does not change what was asked first.
    state, _ = model.step(state, model.Signal(RTMIN + 4), 0.1, policy)
    assert state.power == "reboot"
    state, actions = model.step(state, model.UnitsStopped(), 0.2, policy)
    assert actions == [model.SignalRest(int(signal.SIGTERM))]
    state, actions = model.step(state, model.NoChildren(), 0.3, policy)
    assert actions == [model.Exit(0)] and state.power == "reboot"


def test_with_a_main_process_it_gets_sigterm() -> None:
    policy = machine_policy(has_units=False)
    state = model.start(42)
    state, actions = model.step(state, model.Signal(RTMIN + 3), 0.0, policy)
    assert state.phase == model.STOPPING and state.power == "halt"
    assert model.Forward(int(signal.SIGTERM), 42) in actions


def test_power_button_and_ctl_arrive_as_exit_requests() -> None:
    policy = machine_policy()
    state, actions = model.step(model.start(None), model.ExitRequested(0, "poweroff"), 0, policy)
    assert state.power == "poweroff" and model.StopUnits() in actions


def test_containers_keep_their_meaning_of_signals() -> None:
    policy = model.Policy(InitConfig(["x"]), drain=True)
    state, actions = model.step(model.start(42), model.Signal(int(signal.SIGINT)), 0.0, policy)
    assert state.phase == model.RUNNING and state.power is None
    assert actions[0] == model.Forward(int(signal.SIGINT), 42)
