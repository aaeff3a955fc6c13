"""The job queue with real unit files (tmp_path) and a fake service runner:
which units begin, in what order, and which never do."""

from pathlib import Path

from guestinit import _log
from guestinit.service.jobs import JobResult
from guestinit.service.registry import Registry, Unit
from guestinit.service.states import Active, Sub
from guestinit.service.transaction import Transaction


class Runner:
    """Stands in for the manager: records begun units and moves their state."""

    def __init__(self, tmp_path: Path, units: dict[str, str]) -> None:
        for name, text in units.items():
            (tmp_path / name).write_text(text)
        self.registry = Registry((str(tmp_path),), str(tmp_path / "enabled"), _log.Log(_log.ERROR))
        self.begun: list[str] = []
        self.jobs = Transaction(
            self.registry, _log.Log(_log.ERROR), self.begin, self.stop, budget=60
        )

    def begin(self, unit: Unit, now: float) -> None:
        self.begun.append(unit.name)
        self.set(unit.name, Sub.START)  # activating until the test says otherwise

    def stop(self, unit: Unit, now: float) -> None:
        self.set(unit.name, Sub.DEAD)

    def set(self, name: str, sub: Sub) -> None:
        unit = self.registry.units[name]
        assert unit.state is not None
        before = unit.active
        unit.state = unit.state.__class__(sub=sub)
        if unit.active is not before:
            self.jobs.on_active_change(unit, unit.active)
        self.dispatch()

    def dispatch(self) -> None:
        """Turns of the loop until the queues wait for something (the first
        one after a load only computes the ordering)."""
        self.jobs.run(0.0)
        while self.jobs.has_work:
            self.jobs.run(0.0)


SIMPLE = "[Service]\nExecStart=/bin/true\n"


def test_a_failed_requirement_keeps_the_ordered_dependant_from_ever_beginning(
    tmp_path: Path,
) -> None:
    runner = Runner(
        tmp_path,
        {
            "migrate.service": SIMPLE,
            "web.service": "[Unit]\nRequires=migrate.service\nAfter=migrate.service\n" + SIMPLE,
            "proxy.service": "[Unit]\nBindsTo=web.service\nAfter=web.service\n" + SIMPLE,
        },
    )
    runner.jobs.request_start(["proxy.service"])
    runner.dispatch()
    assert runner.begun == ["migrate.service"]  # the others wait (After=)
    runner.set("migrate.service", Sub.STOP_SIGTERM)  # a failed start still stopping
    assert runner.begun == ["migrate.service"], "the job is not over while deactivating"
    runner.set("migrate.service", Sub.FAILED)
    assert runner.begun == ["migrate.service"]
    results = runner.jobs.results
    assert results["migrate.service"] is JobResult.FAILED
    assert results["web.service"] is results["proxy.service"] is JobResult.DEPENDENCY
    assert not runner.jobs.busy()
    assert runner.registry.units["web.service"].active is Active.INACTIVE


def test_without_after_both_begin_and_a_later_failure_leaves_the_dependant(
    tmp_path: Path,
) -> None:
    runner = Runner(
        tmp_path,
        {
            "migrate.service": SIMPLE,
            "web.service": "[Unit]\nRequires=migrate.service\n" + SIMPLE,
        },
    )
    runner.jobs.request_start(["web.service"])
    runner.dispatch()
    assert sorted(runner.begun) == ["migrate.service", "web.service"]
    runner.set("web.service", Sub.RUNNING)  # web's start job is over: done
    runner.set("migrate.service", Sub.FAILED)
    assert runner.registry.units["web.service"].active is Active.ACTIVE
    assert runner.jobs.results["web.service"] is JobResult.DONE


def test_an_explicit_stop_takes_requiring_units_along(tmp_path: Path) -> None:
    runner = Runner(
        tmp_path,
        {"db.service": SIMPLE, "web.service": "[Unit]\nRequires=db.service\n" + SIMPLE},
    )
    runner.jobs.request_start(["web.service"])
    runner.dispatch()
    runner.set("web.service", Sub.RUNNING)
    runner.set("db.service", Sub.RUNNING)
    runner.jobs.request_stop("db.service")
    runner.dispatch()
    assert runner.registry.units["web.service"].active is Active.INACTIVE
    assert runner.registry.units["db.service"].active is Active.INACTIVE
