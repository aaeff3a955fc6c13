"""Start jobs and how their failure travels along dependencies (pure).

systemd's rules, as its job engine applies them (job.c, unit.c):

- A start job is *running* from the moment the unit is asked to start until
  the unit is active (result ``done``), inactive (``done``: a oneshot that
  finished, a condition that did not hold) or failed (``failed``). While the
  unit is activating or deactivating (a failed start still stopping) the job
  is not over, so units ordered After= it keep waiting.
- A start job that ends other than ``done`` fails, with result
  ``dependency``, the start job still pending of every unit that has
  Requires=, BindsTo= or Requisite= on it, whatever the ordering: a job still
  waiting (After=) never starts its unit; a job already running (no After=,
  the unit still starting) just ends, and the unit goes on starting. A job
  already over is not touched: without After= a dependant that started does
  not stop when the dependency fails later.
- Requisite= is stricter: a dependency whose start job ends ``done`` with
  the unit not active (a oneshot without RemainAfterExit=, a skipped
  condition) fails its Requisite= dependants too.
- The failure cascades: a job failed with ``dependency`` fails its own
  dependants in turn.
"""

import collections
import enum
from collections.abc import Callable, Iterable, Mapping

from guestinit.service.ordering import Deps
from guestinit.service.states import Active


class JobResult(enum.Enum):
    DONE = "done"
    FAILED = "failed"
    DEPENDENCY = "dependency"
    CANCELED = "canceled"


def start_result(active: Active) -> JobResult | None:
    """How a running start job ends when its unit reaches ``active``; None
    while it is still under way."""
    if active in (Active.ACTIVE, Active.RELOADING, Active.INACTIVE):
        return JobResult.DONE
    if active is Active.FAILED:
        return JobResult.FAILED
    return None  # activating, or deactivating after a failed start


def fails_dependant(deps: Deps, dependency: str, result: JobResult, active: bool) -> bool:
    """Does ``dependency``'s start job ending in ``result`` (its unit now
    ``active`` or not) fail the pending start job of a unit with ``deps``?"""
    if result is not JobResult.DONE:
        return dependency in deps.needs
    return not active and dependency in deps.requisite


def dependants(graph: Mapping[str, Deps]) -> dict[str, set[str]]:
    """For each unit, the units that have Requires=, Requisite=, BindsTo= or
    PartOf= on it: the only ones its job's outcome or its stop can touch (an
    index, so that a job's end costs its few dependants, not every unit)."""
    index: dict[str, set[str]] = {}
    for name, deps in graph.items():
        for other in deps.needs | deps.part_of:
            index.setdefault(other, set()).add(name)
    return index


def cascade(
    name: str,
    result: JobResult,
    active: bool,
    deps_of: Callable[[str], Deps],
    dependants: Mapping[str, Iterable[str]],
    pending: Callable[[str], bool],
) -> list[str]:
    """The units whose pending start jobs fail with ``dependency`` because
    ``name``'s start job ended in ``result``, in the order they fail (each
    one's own dependants follow it)."""
    failed: list[str] = []
    queue = collections.deque([(name, result, active)])
    while queue:
        current, current_result, current_active = queue.popleft()
        for other in sorted(dependants.get(current, ())):
            if other in failed or other == name or not pending(other):
                continue
            if fails_dependant(deps_of(other), current, current_result, current_active):
                failed.append(other)
                queue.append((other, JobResult.DEPENDENCY, False))
    return failed


def stop_followers(
    name: str, dependants: Mapping[str, Iterable[str]], running: Callable[[str], bool]
) -> list[str]:
    """An explicit stop of ``name`` also stops every running unit that has
    Requires=, Requisite=, BindsTo= or PartOf= on it, and theirs in turn."""
    followers: list[str] = []
    queue = collections.deque([name])
    while queue:
        current = queue.popleft()
        for other in sorted(dependants.get(current, ())):
            if other == name or other in followers or not running(other):
                continue
            followers.append(other)
            queue.append(other)
    return followers


def unbound(deps: Deps, down: Callable[[str], bool]) -> list[str]:
    """BindsTo= units that are down (inactive or failed, no start job
    pending) while their dependant is active: systemd stops the dependant
    ("bound to inactive unit")."""
    return sorted(bound for bound in deps.binds_to if down(bound))
