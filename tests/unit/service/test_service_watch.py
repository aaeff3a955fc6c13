"""The watchlist holds exactly the units with a deadline, processes to wait
for or health checks."""

from guestinit.service import from_spec
from guestinit.service import model as svc
from guestinit.service.ordering import Deps
from guestinit.service.registry import Unit
from guestinit.service.watch import Watchlist
from guestinit.unitfile import parse_unit_text


def service(text: str) -> Unit:
    spec = parse_unit_text(text, "a.service").spec
    assert spec is not None
    config = from_spec.service_config(spec)
    return Unit("a.service", spec, Deps(), config=config, state=svc.initial(config))


def test_a_unit_is_watched_while_it_has_a_deadline() -> None:
    unit = service("[Service]\nExecStart=/bin/sleep 1\nTimeoutStartSec=5\nType=notify\n")
    assert unit.config is not None and unit.state is not None
    watch = Watchlist()
    watch.update(unit)
    assert list(watch) == [], "inactive: nothing to look at"
    unit.state, _ = svc.step(unit.config, unit.state, svc.StartJob(), 100.0)
    unit.state, _ = svc.step(unit.config, unit.state, svc.Spawned(svc.Role.MAIN, 42), 100.0)
    watch.update(unit)
    assert list(watch) == [unit], "starting with a start timeout"
    unit.state, _ = svc.step(unit.config, unit.state, svc.Notified(ready=True), 101.0)
    watch.update(unit)
    assert list(watch) == [] and watch.waiting_for_empty() == []


def test_a_stopping_unit_waits_for_empty() -> None:
    unit = service("[Service]\nExecStart=/bin/sleep 1\n")
    assert unit.config is not None and unit.state is not None
    unit.state, _ = svc.step(unit.config, unit.state, svc.StartJob(), 100.0)
    unit.state, _ = svc.step(unit.config, unit.state, svc.Spawned(svc.Role.MAIN, 42), 100.0)
    unit.state, _ = svc.step(unit.config, unit.state, svc.StopJob(), 101.0)
    watch = Watchlist()
    watch.update(unit)
    assert watch.waiting_for_empty() == [unit]
