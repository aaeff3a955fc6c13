"""Exit codes for each verb's result, as systemctl gives them."""

from typing import Literal, cast

import pytest

from guestinit.control.protocol import Request, Verb, build_request
from guestinit.control.results import (
    CatResult,
    ChangesResult,
    HealthResult,
    JobsResult,
    StatesResult,
    StatusResult,
    UnitStatus,
    exit_for,
    ok_response,
)

JobResult = Literal["done", "queued", "failed", "not-found", "skipped"]


def unit(name: str, active: str) -> UnitStatus:
    return {
        "name": name,
        "description": "",
        "load_state": "loaded",
        "active_state": active,
        "sub_state": "running",
        "result": "success",
        "main_pid": None,
        "main_name": None,
        "since": None,
        "last_exit": None,
        "restarts": 0,
        "tasks": None,
        "memory_bytes": None,
        "cpu_seconds": None,
        "status_text": None,
        "path": None,
        "enabled": "enabled",
    }


@pytest.mark.parametrize(
    ("actives", "missing", "code"),
    [
        (["active"], [], 0),
        (["active", "reloading"], [], 0),
        ([], [], 0),
        (["active", "inactive"], [], 3),
        (["activating"], [], 3),
        (["failed"], [], 3),
        (["active"], ["nope.service"], 4),
    ],
)
def test_status(actives: list[str], missing: list[str], code: int) -> None:
    units = [unit(f"u{i}", active) for i, active in enumerate(actives)]
    result: StatusResult = {"units": units, "missing": missing}
    assert exit_for(Verb.STATUS, result) == code


def states(*values: str) -> StatesResult:
    return {"units": [{"name": f"u{i}", "state": v} for i, v in enumerate(values)]}


@pytest.mark.parametrize(
    ("verb", "values", "code"),
    [
        (Verb.IS_ACTIVE, ["active"], 0),
        (Verb.IS_ACTIVE, ["inactive", "active"], 0),  # any of them
        (Verb.IS_ACTIVE, ["inactive"], 3),
        (Verb.IS_ACTIVE, ["activating", "failed"], 3),
        (Verb.IS_FAILED, ["failed"], 0),
        (Verb.IS_FAILED, ["active"], 1),
        (Verb.IS_ENABLED, ["static"], 0),
        (Verb.IS_ENABLED, ["disabled", "enabled"], 0),
        (Verb.IS_ENABLED, ["disabled"], 1),
        (Verb.IS_ENABLED, ["not-found"], 1),
    ],
)
def test_is_verbs(verb: Verb, values: list[str], code: int) -> None:
    assert exit_for(verb, states(*values)) == code


@pytest.mark.parametrize(
    ("results", "code"),
    [(["done", "queued", "skipped"], 0), (["done", "failed"], 1), (["failed", "not-found"], 5)],
)
@pytest.mark.parametrize("verb", [Verb.START, Verb.RESTART, Verb.KILL])
def test_jobs(verb: Verb, results: list[str], code: int) -> None:
    jobs: JobsResult = {
        "jobs": [{"unit": "a", "result": cast(JobResult, r), "message": None} for r in results]
    }
    assert exit_for(verb, jobs) == code


def test_files_and_health() -> None:
    cat: CatResult = {"units": [], "missing": ["x.service"]}
    assert exit_for(Verb.CAT, cat) == 1
    changes: ChangesResult = {"changes": [], "missing": []}
    assert exit_for(Verb.ENABLE, changes) == 0
    changes["missing"] = ["x.service"]
    assert exit_for(Verb.DISABLE, changes) == 1
    health: HealthResult = {
        "state": "running",
        "units": 3,
        "failed": [],
        "uptime_seconds": 5.0,
        "version": "0.1.0",
        "pid": 1,
    }
    assert exit_for(Verb.HEALTH, health) == 0
    health["state"] = "degraded"
    assert exit_for(Verb.HEALTH, health) == 1
    assert exit_for(Verb.POWEROFF, None) == 0


def test_ok_response_fills_in_id_and_exit() -> None:
    request = build_request(9, "is-active", {"units": ["a.service"]})
    assert isinstance(request, Request)
    response = ok_response(request, states("inactive"))
    assert (response.id, response.ok, response.exit, response.error) == (9, True, 3, None)
