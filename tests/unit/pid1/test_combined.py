from collections.abc import Callable

from guestinit.pid1 import model
from guestinit.pid1.combined import CombinedServices


class Part:
    def __init__(self, name: str, deadline: float | None = None) -> None:
        self.name = name
        self.deadline = deadline
        self.pending: list[model.Event] = []
        self.owned: set[int] = set()
        self.calls: list[str] = []

    def readers(self) -> dict[int, Callable[[], None]]:
        return {len(self.name): lambda: None}

    def writers(self) -> dict[int, Callable[[], None]]:
        return {}

    def next_deadline(self) -> float | None:
        return self.deadline

    def tick(self, now: float) -> None:
        self.calls.append("tick")

    def claim(self, pid: int, status: int, now: float) -> bool:
        return pid in self.owned

    def start(self, now: float) -> None:
        self.calls.append("start")

    def stop_all(self, now: float) -> None:
        self.calls.append(f"stop {self.name}")

    def events(self) -> list[model.Event]:
        events, self.pending = self.pending, []
        return events

    def has_events(self) -> bool:
        return bool(self.pending)

    def main_spawned(self, pid: int) -> None:
        self.calls.append(f"main {pid}")

    def close(self) -> None:
        self.calls.append("close")


def test_ready_only_when_every_part_is() -> None:
    manager, shim = Part("manager"), Part("shim")
    both = CombinedServices([manager, shim])
    manager.pending = [model.UnitsReady()]
    assert both.events() == []
    shim.pending = [model.UnitsReady()]
    assert [type(e) for e in both.events()] == [model.UnitsReady]


def test_stopped_only_when_every_part_is_and_other_events_pass() -> None:
    manager, shim = Part("manager"), Part("shim")
    both = CombinedServices([manager, shim])
    shim.pending = [model.UnitsStopped()]
    manager.pending = [model.ExitRequested(3)]
    assert [type(e) for e in both.events()] == [model.ExitRequested]
    manager.pending = [model.UnitsStopped()]
    assert [type(e) for e in both.events()] == [model.UnitsStopped]


def test_descriptors_deadlines_claims_and_stop_order() -> None:
    manager, shim = Part("manager", 5.0), Part("shim", 3.0)
    shim.owned = {42}
    both = CombinedServices([manager, shim])
    assert set(both.readers()) == {7, 4}
    assert both.next_deadline() == 3.0
    assert both.claim(42, 0, 0.0)
    assert not both.claim(43, 0, 0.0)
    both.stop_all(0.0)
    assert manager.calls == ["stop manager"]
    assert shim.calls == ["stop shim"]
    shim.pending = [model.UnitsReady()]
    assert both.has_events()


def test_every_part_learns_the_main_process() -> None:
    manager, shim = Part("manager"), Part("shim")
    CombinedServices([manager, shim]).main_spawned(42)
    assert "main 42" in manager.calls and "main 42" in shim.calls
