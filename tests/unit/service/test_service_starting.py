"""What a start checks first: conditions, assertions."""

from guestinit import _log
from guestinit.service import from_spec
from guestinit.service import model as svc
from guestinit.service.registry import Unit
from guestinit.service.starting import prepare_service
from guestinit.unitfile import parse_unit_text


class Lines(_log.Log):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, level: int, text: str) -> None:
        self.lines.append(text)


def service(name: str, text: str) -> Unit:
    spec = parse_unit_text(text, name).spec
    assert spec is not None
    config = from_spec.service_config(spec)
    return Unit(name, spec, from_spec.deps(spec), config=config, state=svc.initial(config))


def test_a_condition_not_met_skips_and_an_assertion_fails() -> None:
    log = Lines()
    skipped = service(
        "a.service", "[Unit]\nConditionPathExists=/nonexistent\n[Service]\nExecStart=/bin/true\n"
    )
    assert not prepare_service(skipped, log) and skipped.skipped and not skipped.start_failed
    failed = service(
        "b.service", "[Unit]\nAssertPathExists=/nonexistent\n[Service]\nExecStart=/bin/true\n"
    )
    assert not prepare_service(failed, log) and failed.start_failed
    assert any("assertion failed" in line for line in log.lines)
    fine = service("c.service", "[Service]\nExecStart=/bin/true\nEnvironment=A=1\n")
    assert prepare_service(fine, log) and fine.environment["A"] == "1"
