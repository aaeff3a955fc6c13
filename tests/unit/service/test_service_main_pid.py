import pytest

from guestinit.service.main_pid import Candidate, Source, describe_refusal, judge


def mine(**facts: object) -> Candidate:
    base: dict[str, object] = {"pid": 42, "alive": True, "in_unit": True}
    return Candidate(**{**base, **facts})  # type: ignore[arg-type]


@pytest.mark.parametrize("trusted", [False, True])
@pytest.mark.parametrize("exact", [False, True])
def test_the_units_own_process_is_accepted_from_any_source(trusted: bool, exact: bool) -> None:
    assert judge(mine(), trusted, exact)


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        ({"protected": "the container's main process"}, "42 is the container's main process"),
        ({"protected": "PID 1"}, "42 is PID 1"),
        ({"is_control": True}, "42 is the control process"),
        ({"alive": False}, "42 does not exist or is a zombie"),
        ({"in_unit": False, "other_unit": "db.service"}, "42 belongs to db.service"),
    ],
)
def test_never_even_from_root(facts: dict[str, object], reason: str) -> None:
    for exact in (False, True):
        verdict = judge(mine(**facts, same_user=True), trusted=True, exact_membership=exact)
        assert not verdict and verdict.reason == reason


def test_outside_the_unit_only_from_a_trusted_source() -> None:
    outside = mine(in_unit=False)
    assert judge(outside, trusted=True, exact_membership=True)
    refused = judge(outside, trusted=False, exact_membership=True)
    assert not refused and refused.reason == "42 does not belong to the service"


def test_the_same_user_exception_holds_only_without_cgroups() -> None:
    own_user = mine(in_unit=False, same_user=True)
    assert judge(own_user, trusted=False, exact_membership=False)
    assert not judge(own_user, trusted=False, exact_membership=True)


def test_refusal_text_names_the_source_and_the_reason() -> None:
    verdict = judge(mine(in_unit=False), trusted=False, exact_membership=True)
    text = describe_refusal(Source.PID_FILE, verdict, "owned by uid 65534")
    assert text == (
        "new main PID from PIDFile= refused: 42 does not belong to the service (owned by uid 65534)"
    )
