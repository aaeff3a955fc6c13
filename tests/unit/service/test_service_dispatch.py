"""The dispatcher starts queued units in ordering order, stops them in the
reverse order, and leaves what its budget does not cover for the next run."""

from pathlib import Path

from guestinit import _log
from guestinit.service.dispatch import Dispatcher
from guestinit.service.registry import Registry, Unit


class Quiet(_log.Log):
    def emit(self, level: int, text: str) -> None:
        pass


def chain(folder: Path, count: int) -> Registry:
    for index in range(count):
        after = f"After=c{index - 1}.target\n" if index else ""
        (folder / f"c{index}.target").write_text(f"[Unit]\n{after}")
    registry = Registry((str(folder),), str(folder / "enabled"), Quiet())
    registry.closure([f"c{index}.target" for index in range(count)])
    return registry


def recorder(registry: Registry, budget: float) -> tuple[Dispatcher, list[str]]:
    done: list[str] = []

    def start(unit: Unit, now: float) -> None:
        unit.target_active = True
        done.append(f"+{unit.name}")

    def stop(unit: Unit, now: float) -> None:
        unit.target_active = False
        done.append(f"-{unit.name}")

    return Dispatcher(registry, start, stop, budget, running=set()), done


def test_a_chain_queued_backwards_starts_in_order_and_stops_in_reverse(tmp_path: Path) -> None:
    registry = chain(tmp_path, 30)
    jobs, done = recorder(registry, budget=60)
    jobs.starts.update(f"c{index}.target" for index in reversed(range(30)))
    assert jobs.has_work
    jobs.run(0.0)  # this turn recomputes the ordering only
    assert done == [] and jobs.has_work
    jobs.run(0.0)
    assert done == [f"+c{index}.target" for index in range(30)] and not jobs.has_work
    done.clear()
    jobs.stops.update(f"c{index}.target" for index in range(30))
    jobs.run(0.0)
    assert done == [f"-c{index}.target" for index in reversed(range(30))]


def test_a_run_without_budget_does_one_unit_and_leaves_the_rest(tmp_path: Path) -> None:
    registry = chain(tmp_path, 5)
    jobs, done = recorder(registry, budget=0)
    jobs.starts.update(f"c{index}.target" for index in range(5))
    jobs.run(0.0)  # the ordering
    runs = 0
    while jobs.has_work:
        jobs.run(0.0)
        runs += 1
    assert done == [f"+c{index}.target" for index in range(5)] and runs == 5
