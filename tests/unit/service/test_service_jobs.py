"""Start-job results and their propagation along dependencies (pure)."""

from guestinit.service.jobs import (
    JobResult,
    cascade,
    dependants,
    fails_dependant,
    start_result,
    stop_followers,
    unbound,
)
from guestinit.service.ordering import Deps
from guestinit.service.states import Active


def test_a_start_job_ends_when_the_unit_is_up_down_or_failed() -> None:
    assert start_result(Active.ACTIVE) is JobResult.DONE
    assert start_result(Active.INACTIVE) is JobResult.DONE  # a oneshot that finished
    assert start_result(Active.FAILED) is JobResult.FAILED
    # A failed start is still stopping: the job is not over, dependants wait.
    assert start_result(Active.DEACTIVATING) is None
    assert start_result(Active.ACTIVATING) is None


def test_requires_bindsto_requisite_fail_with_a_failed_dependency_wants_does_not() -> None:
    for deps in (
        Deps(requires=frozenset({"migrate.service"})),
        Deps(binds_to=frozenset({"migrate.service"})),
        Deps(requisite=frozenset({"migrate.service"})),
    ):
        assert fails_dependant(deps, "migrate.service", JobResult.FAILED, active=False)
    assert not fails_dependant(
        Deps(wants=frozenset({"migrate.service"})), "migrate.service", JobResult.FAILED, False
    )


def test_only_requisite_fails_when_the_dependency_ended_well_but_is_not_active() -> None:
    requisite = Deps(requisite=frozenset({"db.service"}))
    requires = Deps(requires=frozenset({"db.service"}))
    assert fails_dependant(requisite, "db.service", JobResult.DONE, active=False)
    assert not fails_dependant(requisite, "db.service", JobResult.DONE, active=True)
    assert not fails_dependant(requires, "db.service", JobResult.DONE, active=False)


def test_failure_cascades_only_to_units_with_a_pending_start_job() -> None:
    graph = {
        "migrate.service": Deps(),
        "web.service": Deps(requires=frozenset({"migrate.service"})),
        "proxy.service": Deps(binds_to=frozenset({"web.service"})),
        "cache.service": Deps(wants=frozenset({"web.service"})),
        "old.service": Deps(requires=frozenset({"migrate.service"})),
    }
    pending = {"web.service", "proxy.service", "cache.service"}  # old.service started already
    index = dependants(graph)
    assert cascade(
        "migrate.service", JobResult.FAILED, False, graph.__getitem__, index, pending.__contains__
    ) == [
        "web.service",
        "proxy.service",
    ]
    assert (
        cascade(
            "migrate.service", JobResult.DONE, False, graph.__getitem__, index, pending.__contains__
        )
        == []
    )


def test_an_explicit_stop_takes_requires_bindsto_partof_dependants_along() -> None:
    graph = {
        "db.service": Deps(),
        "web.service": Deps(requires=frozenset({"db.service"})),
        "worker.service": Deps(part_of=frozenset({"web.service"})),
        "cache.service": Deps(wants=frozenset({"db.service"})),
        "idle.service": Deps(requires=frozenset({"db.service"})),
    }
    running = {"db.service", "web.service", "worker.service", "cache.service"}
    assert stop_followers("db.service", dependants(graph), running.__contains__) == [
        "web.service",
        "worker.service",
    ]


def test_a_unit_bound_to_a_down_unit_is_stopped() -> None:
    deps = Deps(binds_to=frozenset({"a.service", "b.service"}))
    assert unbound(deps, {"b.service"}.__contains__) == ["b.service"]
    assert unbound(deps, lambda name: False) == []


def test_the_dependants_index_lists_who_names_a_unit_in_a_requirement() -> None:
    graph = {
        "db.service": Deps(),
        "web.service": Deps(requires=frozenset({"db.service"})),
        "worker.service": Deps(part_of=frozenset({"web.service"})),
        "cache.service": Deps(wants=frozenset({"db.service"}), after=frozenset({"db.service"})),
    }
    assert dependants(graph) == {"db.service": {"web.service"}, "web.service": {"worker.service"}}
