import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guestinit._signames import describe, parse_signal, signal_name


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("TERM", 15),
        ("sigterm", 15),
        ("SIGKILL", 9),
        ("15", 15),
        ("CLD", int(signal.SIGCHLD)),
        ("RTMIN", int(signal.SIGRTMIN)),
        ("RTMIN+3", int(signal.SIGRTMIN) + 3),
        ("SIGRTMAX-1", int(signal.SIGRTMAX) - 1),
    ],
)
def test_parse_signal(text: str, number: int) -> None:
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["FOO", "0", "99", "RTMIN+99", "RTMAX+1", "", "SIG"])
def test_parse_signal_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_signal(text)


@given(st.integers(min_value=1, max_value=int(signal.SIGRTMAX)))
def test_name_round_trips(number: int) -> None:
    if number in (32, 33):  # reserved by glibc, no name
        return
    assert parse_signal(signal_name(number)) == number


def test_describe_is_the_c_library_text() -> None:
    assert describe(15) == "Terminated"
    assert signal_name(37) == "SIGRTMIN+3"
