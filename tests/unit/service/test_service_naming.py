"""What a unit's FailureAction=/SuccessAction= (or --exit-on) asks of guestinit."""

from guestinit.service import from_spec, naming
from guestinit.service import model as svc
from guestinit.service.registry import Unit
from guestinit.unitfile import parse_unit_text


def service(text: str) -> Unit:
    spec = parse_unit_text(text, "app.service").spec
    assert spec is not None
    config = from_spec.service_config(spec)
    return Unit("app.service", spec, from_spec.deps(spec), config=config, state=svc.initial(config))


def test_no_action_asks_for_nothing_unless_the_unit_is_essential() -> None:
    unit = service("[Service]\nExecStart=/bin/true\n")
    assert naming.exit_request(unit, failed=True, essential=False) is None
    assert naming.exit_request(unit, failed=True, essential=True) == (1, None)
    assert naming.exit_request(unit, failed=False, essential=True) == (0, None)


def test_exit_and_power_actions_with_their_exit_status() -> None:
    unit = service(
        "[Unit]\nFailureAction=reboot-force\nSuccessAction=exit\nSuccessActionExitStatus=7\n"
        "[Service]\nExecStart=/bin/true\n"
    )
    assert naming.exit_request(unit, failed=True, essential=False) == (1, "reboot")
    assert naming.exit_request(unit, failed=False, essential=False) == (7, None)
