"""Unit text -> model config and dependencies, including random text fed
through parser, mapping and model (the manager's pure path)."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from guestinit.service import model
from guestinit.service.backoff import DOUBLING
from guestinit.service.from_spec import deps, refusal, service_config
from guestinit.service.states import Phase, Restart, Role, ServiceType, Sub
from guestinit.unitfile import parse_unit_text


def spec(text: str, name: str = "x.service"):  # type: ignore[no-untyped-def]
    result = parse_unit_text(text, name, f"/units/{name}")
    assert result.spec is not None, result.diagnostics
    return result.spec


def test_defaults_are_ours_where_not_set() -> None:
    config = service_config(spec("[Service]\nExecStart=/bin/true\n"))
    assert config.restart_steps == DOUBLING
    assert config.timeout_stop == 5.0
    assert config.commands == {Phase.START: (False,)}


def _delays(text: str, count: int = 5) -> list[float]:
    """The restart delays the model schedules for a unit that keeps crashing."""
    config = service_config(spec(text))
    state = model.initial(config)
    state, _ = model.step(config, state, model.StartJob(), 0.0)
    delays: list[float] = []
    now = 0.0
    for _ in range(count):
        pid = 100 + len(delays)
        state, _ = model.step(config, state, model.Spawned(Role.MAIN, pid), now)
        state, _ = model.step(config, state, model.Exited(pid, 1), now)
        while state.sub is not Sub.AUTO_RESTART:  # the kill states wait for Empty
            state, _ = model.step(config, state, model.Empty(), now)
        assert state.deadline is not None
        delays.append(round(state.deadline - now, 6))
        now = state.deadline
        state, _ = model.step(config, state, model.Timer(), now)
    return delays


NO_LIMIT = "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/false\nRestart=always\n"


def test_an_explicit_restart_sec_is_waited_each_time() -> None:
    assert _delays(NO_LIMIT + "RestartSec=1\n") == [1.0] * 5
    # One of the two growth settings alone changes nothing (systemd.service(5)).
    assert _delays(NO_LIMIT + "RestartSec=1\nRestartSteps=4\n") == [1.0] * 5
    assert _delays(NO_LIMIT + "RestartSec=1\nRestartMaxDelaySec=16\n") == [1.0] * 5


def test_restart_steps_with_a_max_delay_grow_as_systemd_does() -> None:
    text = NO_LIMIT + "RestartSec=1\nRestartSteps=4\nRestartMaxDelaySec=16\n"
    assert _delays(text, 6) == [1.0, 2.0, 4.0, 8.0, 16.0, 16.0]


def test_no_restart_settings_keep_our_doubling() -> None:
    assert _delays(NO_LIMIT) == [0.1, 0.2, 0.4, 0.8, 1.6]


def test_explicit_restart_steps_and_oneshot_timeout() -> None:
    config = service_config(spec(
        "[Service]\nType=oneshot\nExecStart=-/bin/false\nExecStart=/bin/true\nRestartSteps=3\n"
    ))  # fmt: skip
    assert config.restart_steps == 3
    assert math.isinf(config.timeout_start), "oneshot has no start timeout unless set"
    assert config.commands[Phase.START] == (True, False)
    assert config.type is ServiceType.ONESHOT


def test_exit_statuses_split_into_codes_and_signals() -> None:
    config = service_config(spec(
        "[Service]\nExecStart=/bin/true\nRestart=on-failure\n"
        "RestartPreventExitStatus=255 SIGKILL\nSuccessExitStatus=42 SIGUSR1\n"
    ))  # fmt: skip
    assert config.restart is Restart.ON_FAILURE
    assert config.restart_prevent == frozenset({255})
    assert config.restart_prevent_signals == frozenset({9})
    assert config.success_exit_status == frozenset({42})
    assert config.success_signals == frozenset({10})


def test_dependencies_and_implicit_ordering() -> None:
    d = deps(spec("[Unit]\nRequires=a.service\nWants=b.service\nAfter=a.service\n"
                  "[Service]\nExecStart=/bin/true\n"))  # fmt: skip
    assert d.pulls == frozenset({"a.service", "b.service"})
    assert "basic.target" in d.after
    none = deps(spec("[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n"))
    assert none.after == frozenset()


def test_refusals() -> None:
    assert refusal(spec("[Service]\nType=dbus\nBusName=a.b\nExecStart=/bin/true\n"))
    assert refusal(spec("[Service]\nDynamicUser=yes\nExecStart=/bin/true\n"))
    assert refusal(spec("[Service]\nExecStart=/bin/true\n")) is None


_lines = st.sampled_from([
    "[Unit]", "[Service]", "[Install]", "Type=notify", "Type=oneshot", "Type=forking",
    "ExecStart=/bin/true", "ExecStart=-/bin/false", "ExecStartPre=/bin/true", "ExecStop=/bin/x",
    "Restart=always", "RestartSec=0", "RestartSteps=2", "TimeoutStopSec=1", "KillMode=mixed",
    "RemainAfterExit=yes", "After=a.service", "Requires=b.service", "WatchdogSec=1",
    "StartLimitBurst=1", "SuccessExitStatus=3", "garbage", "=", "[Bogus]", "Type=nonsense",
])  # fmt: skip
_events = st.sampled_from([
    model.StartJob(), model.StopJob(), model.RestartJob(), model.ReloadJob(), model.Timer(),
    model.Empty(), model.Spawned(Role.MAIN, 10), model.Spawned(Role.CONTROL, 11),
    model.Exited(10, 0), model.Exited(10, 1), model.Exited(11, 0), model.Notified(ready=True),
    model.MainPidFound(12), model.ExecSucceeded(10),
])  # fmt: skip


@settings(max_examples=200)
@given(
    st.one_of(st.text(max_size=300), st.lists(_lines, max_size=15).map("\n".join)),
    st.lists(_events, max_size=25),
)
def test_random_unit_text_through_parser_mapping_and_model(
    text: str, events: list[model.Event]
) -> None:
    result = parse_unit_text(text, "r.service", "/units/r.service")
    if result.spec is None or result.spec.service is None:
        assert result.diagnostics or result.spec is not None
        return
    config = service_config(result.spec)
    deps(result.spec)
    state = model.initial(config)
    for i, event in enumerate(events):
        state, _ = model.step(config, state, event, float(i))
