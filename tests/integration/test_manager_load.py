"""Heavy and odd unit sets against guestinit as PID 1 (issue 12, items 5-7):
a start of 1,000 units chained by After= in one request, an ordering ring of
200, oversize unit files. Times are only sanity bounds here; the figures are
bench/load.py's."""

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.pid1view import Pid1, start_idle
from tests.sandbox import Sandbox, wait_for

PROGRAMS = Path(__file__).resolve().parent / "programs"


@pytest.fixture
def pid1(sandbox: Sandbox) -> Iterator[Pid1]:
    target = start_idle(sandbox)
    yield target


def chain(sandbox: Sandbox, count: int) -> list[str]:
    """Targets and spawn-nothing services, each ordered after the one before."""
    names: list[str] = []
    for index in range(count):
        kind = "target" if index % 2 == 0 else "service"
        text = "[Unit]\nDefaultDependencies=no\n"
        if names:
            text += f"After={names[-1]}\n"
        if kind == "service":
            text += "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStop=/bin/true\n"
        names.append(f"chain{index}.{kind}")
        sandbox.unit(names[-1], text)
    return names


def test_a_start_of_1000_chained_units_keeps_pid1_forwarding(pid1: Pid1, sandbox: Sandbox) -> None:
    names = chain(sandbox, 1000)
    answers: list[dict[str, object]] = []
    request = {"id": 1, "verb": "start", "args": {"units": list(reversed(names))}}
    job = threading.Thread(target=lambda: answers.append(pid1.request(request, timeout=300)))
    job.start()
    # While the job runs (or right after), a signal still goes through.
    pid1.run.signal(signal.SIGUSR1)
    assert pid1.run.read_line(timeout=90) == f"got {int(signal.SIGUSR1)}"
    job.join(300)
    (answer,) = answers
    assert answer["ok"], answer
    jobs = answer["result"]["jobs"]  # type: ignore[index]
    assert [j["result"] for j in jobs] == ["done"] * 1000
    status = pid1.request({"id": 2, "verb": "status", "args": {}}, timeout=120)
    states = {u["name"]: u["active_state"] for u in status["result"]["units"]}  # type: ignore[index]
    assert all(states[name] == "active" for name in names)


def test_an_ordering_ring_is_reported_once(pid1: Pid1, sandbox: Sandbox) -> None:
    ring = [f"ring{i}.target" for i in range(200)]
    for index, name in enumerate(ring):
        after = ring[(index + 1) % 200]
        sandbox.unit(name, f"[Unit]\nDefaultDependencies=no\nAfter={after}\n")
    for request_id in (1, 2):
        answer = pid1.request({"id": request_id, "verb": "start", "args": {"units": ring}})
        assert answer["ok"], answer
    assert pid1.request({"id": 3, "verb": "daemon-reload", "args": {}})["ok"]
    assert pid1.request({"id": 4, "verb": "start", "args": {"units": ring[:10]}})["ok"]
    pid1.assert_healthy("the ring")
    wait_for(lambda: any("ordering cycle" in line for line in pid1.log), timeout=60)
    cycles = [line for line in pid1.log if "ordering cycle" in line]
    assert len(cycles) == 1, cycles
    assert cycles[0].count(".target") == 201


def test_an_oversize_unit_is_refused_with_its_line_and_the_rest_runs(
    pid1: Pid1, sandbox: Sandbox
) -> None:
    big = sandbox.unit(
        "big.service", "[Unit]\nDescription=big\nDocumentation=" + "x" * (2 << 20) + "\n"
    )
    huge = sandbox.units / "huge.service"
    huge.write_bytes(b"[Unit]\n" + b"Documentation=y\n" * (5 << 20 >> 4))
    sandbox.unit("fine.target", "[Unit]\nDefaultDependencies=no\n")
    units = ["big.service", "huge.service", "fine.target"]
    answer = pid1.request({"id": 1, "verb": "start", "args": {"units": units}})
    jobs = {j["unit"]: j["result"] for j in answer["result"]["jobs"]}  # type: ignore[index]
    # A file that exists but cannot be used is systemd's "bad-setting": the start fails.
    assert jobs == {"big.service": "failed", "huge.service": "failed", "fine.target": "done"}
    status = pid1.request({"id": 2, "verb": "status", "args": {}})
    assert status["ok"], status
    pid1.assert_healthy("oversize units")
    line_at_limit = (4 << 20) // 16 + 1
    for expected in (
        f"{big}:3: line longer than 1 MiB",
        f"{huge}:{line_at_limit}: file larger than 4 MiB",
    ):
        wait_for(lambda: any(expected in line for line in pid1.log), timeout=60)  # noqa: B023
