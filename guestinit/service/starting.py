"""What a start checks before a service's first process (side effects: the
environment files and the directories a unit asks for, its log lines).

Kept apart from the manager, which only decides when a unit starts
(service.transaction) and feeds the model."""

import os

from guestinit import _log
from guestinit.service import conditions, executor
from guestinit.service.registry import Unit


def prepare_service(unit: Unit, log: _log.Log) -> bool:
    """Conditions, assertions, environment and directories of a loaded
    service; False (and the unit marked skipped or failed) when it must not
    start."""
    spec = unit.spec
    assert spec is not None
    holds, notes = conditions.evaluate(spec.conditions)
    for note in notes:
        log.info(f"{unit.name}: {note}")
    if not holds:
        unit.skipped = True
        log.info(f"{unit.name}: condition not met, not starting")
        return False
    asserted, notes = conditions.evaluate(spec.asserts)
    if not asserted:
        log.error(f"{unit.name}: assertion failed: {'; '.join(notes)}")
        unit.load_error, unit.start_failed = "assertion failed", True
        return False
    unit.skipped = False
    try:
        unit.environment = {
            **executor.unit_environment(spec, os.environ),
            **executor.make_directories(spec),
        }
    except (executor.EnvironmentFileMissing, OSError) as error:
        log.error(f"{unit.name}: {error}")
        unit.load_error, unit.start_failed = str(error), True
        return False
    unit.load_error, unit.start_failed = None, False
    return True
