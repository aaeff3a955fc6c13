"""sd_notify datagrams -> NotifyMessage, and NotifyAccess= decisions."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guestinit.service.notify_message import NotifyMessage, parse_notify, sender_allowed


@pytest.mark.parametrize(
    ("datagram", "expected"),
    [
        (b"READY=1", NotifyMessage(ready=True)),
        (b"READY=1\n", NotifyMessage(ready=True)),
        (
            b"RELOADING=1\nMONOTONIC_USEC=123456",
            NotifyMessage(reloading=True, monotonic_usec=123456),
        ),
        (b"STOPPING=1", NotifyMessage(stopping=True)),
        (b"STATUS=Serving 3 clients", NotifyMessage(status="Serving 3 clients")),
        (b"STATUS=", NotifyMessage(status="")),
        (b"STATUS=a=b", NotifyMessage(status="a=b")),
        (b"STATUS=\xc3\xa9t\xc3\xa9", NotifyMessage(status="\u00e9t\u00e9")),
        (b"ERRNO=2", NotifyMessage(errno=2)),
        (
            b"BUSERROR=org.freedesktop.DBus.Error.TimedOut",
            NotifyMessage(bus_error="org.freedesktop.DBus.Error.TimedOut"),
        ),
        (b"MAINPID=4242", NotifyMessage(main_pid=4242)),
        (b"WATCHDOG=1", NotifyMessage(watchdog=True)),
        (b"WATCHDOG=trigger", NotifyMessage(watchdog_trigger=True)),
        (b"WATCHDOG_USEC=20000000", NotifyMessage(watchdog_usec=20_000_000)),
        (b"EXTEND_TIMEOUT_USEC=5000000", NotifyMessage(extend_timeout_usec=5_000_000)),
        (b"NOTIFYACCESS=exec", NotifyMessage(notify_access="exec")),
        (b"EXIT_STATUS=3", NotifyMessage(exit_status=3)),
        (b"BARRIER=1", NotifyMessage(barrier=True)),
        (b"FDSTORE=1\nFDNAME=conn", NotifyMessage(fdstore_refused=True)),
        (b"FDSTOREREMOVE=1\nFDNAME=conn", NotifyMessage(fdstore_refused=True)),
        (b"X_MY_APP=hello\nREADY=1", NotifyMessage(ready=True, unknown={"X_MY_APP": "hello"})),
        (b"", NotifyMessage()),
        (b"\n\n", NotifyMessage()),
        (
            b"READY=1\nSTATUS=up\nMAINPID=7\nWATCHDOG_USEC=1000",
            NotifyMessage(ready=True, status="up", main_pid=7, watchdog_usec=1000),
        ),
    ],
)
def test_recognised_assignments(datagram: bytes, expected: NotifyMessage) -> None:
    assert parse_notify(datagram) == expected


@pytest.mark.parametrize(
    ("datagram", "error"),
    [
        (b"READY", "line 1: not KEY=VALUE: READY"),
        (b"=1", "line 1: not KEY=VALUE: =1"),
        (b"READY=0", "line 1: READY=0: expected 1"),
        (b"READY=true", "line 1: READY=true: expected 1"),
        (b"WATCHDOG=0", "line 1: WATCHDOG=0: expected 1 or trigger"),
        (b"MAINPID=0", "line 1: MAINPID=0: out of range 1..4194304"),
        (b"MAINPID=-5", "line 1: MAINPID=-5: not a decimal number"),
        (b"MAINPID=+5", "line 1: MAINPID=+5: not a decimal number"),
        (b"MAINPID= 5", "line 1: MAINPID= 5: not a decimal number"),
        (b"MAINPID=5_000", "line 1: MAINPID=5_000: not a decimal number"),
        (b"MAINPID=\xd9\xa5", "line 1: MAINPID=\\u0665: not a decimal number"),
        (b"MAINPID=99999999999", "line 1: MAINPID=99999999999: out of range 1..4194304"),
        (b"ERRNO=abc", "line 1: ERRNO=abc: not a decimal number"),
        (b"EXIT_STATUS=256", "line 1: EXIT_STATUS=256: out of range 0..255"),
        (
            b"WATCHDOG_USEC=18446744073709551616",
            "line 1: WATCHDOG_USEC=18446744073709551616: out of range 0..18446744073709551615",
        ),
        (
            b"NOTIFYACCESS=everyone",
            "line 1: NOTIFYACCESS=everyone: expected none, main, exec or all",
        ),
        (b"STATUS=\xff\xfe", "line 1: not UTF-8"),
        (b"STATUS=a\x00b", "line 1: contains a NUL byte"),
    ],
)
def test_bad_lines_are_errors_not_exceptions(datagram: bytes, error: str) -> None:
    message = parse_notify(datagram)
    assert message.errors == (error,)
    assert message.empty


def test_a_bad_line_does_not_spoil_the_others() -> None:
    message = parse_notify(b"STATUS=\xff\nREADY=1\nMAINPID=x\nSTATUS=fine")
    assert message.ready
    assert message.status == "fine"  # the bad first STATUS line never counted
    assert message.main_pid is None
    assert message.errors == ("line 1: not UTF-8", "line 3: MAINPID=x: not a decimal number")
    assert not message.empty


def test_first_assignment_wins() -> None:
    message = parse_notify(b"STATUS=one\nSTATUS=two\nMAINPID=5\nMAINPID=6\nX=1\nX=2")
    assert (message.status, message.main_pid, message.unknown) == ("one", 5, {"X": "1"})


def test_line_numbers_count_blank_lines() -> None:
    assert parse_notify(b"\nREADY=1\n\nbogus").errors == ("line 4: not KEY=VALUE: bogus",)


def test_long_bad_values_are_shortened_in_errors() -> None:
    (error,) = parse_notify(b"ERRNO=" + b"x" * 4000).errors
    assert len(error) < 120
    assert error.endswith("...: not a decimal number")


def test_empty_means_nothing_usable() -> None:
    assert parse_notify(b"").empty
    assert parse_notify(b"garbage").empty
    assert not parse_notify(b"X_CUSTOM=1").empty
    assert not parse_notify(b"FDSTORE=1").empty


@given(st.binary(max_size=512))
def test_random_bytes_never_raise(datagram: bytes) -> None:
    message = parse_notify(datagram)
    assert isinstance(message.errors, tuple)


_KEYS = st.sampled_from(
    [
        "READY",
        "RELOADING",
        "STOPPING",
        "STATUS",
        "ERRNO",
        "BUSERROR",
        "MAINPID",
        "WATCHDOG",
        "WATCHDOG_USEC",
        "EXTEND_TIMEOUT_USEC",
        "MONOTONIC_USEC",
        "NOTIFYACCESS",
        "EXIT_STATUS",
        "FDSTORE",
        "FDNAME",
        "BARRIER",
        "X_OTHER",
    ]
)
_VALUES = st.one_of(st.text(max_size=20), st.integers(-(2**70), 2**70).map(str), st.just("1"))


@given(st.lists(st.tuples(_KEYS, _VALUES), max_size=12))
def test_known_keys_with_any_values_never_raise(pairs: list[tuple[str, str]]) -> None:
    text = "\n".join(f"{key}={value}" for key, value in pairs)
    message = parse_notify(text.encode("utf-8", "surrogatepass"))
    for number in (message.main_pid, message.errno, message.watchdog_usec):
        assert number is None or number >= 0


# ---- NotifyAccess= ------------------------------------------------------------------
MAIN, CONTROL, OTHER_IN_UNIT, STRANGER = 100, 200, 300, 400
CONTROLS = {CONTROL}
UNIT = {MAIN, CONTROL, OTHER_IN_UNIT}


@pytest.mark.parametrize(
    ("access", "allowed"),
    [
        ("none", set()),
        ("main", {MAIN}),
        ("exec", {MAIN, CONTROL}),
        ("all", {MAIN, CONTROL, OTHER_IN_UNIT}),
        ("bogus", set()),
        ("", set()),
    ],
)
def test_notify_access(access: str, allowed: set[int]) -> None:
    for sender in (MAIN, CONTROL, OTHER_IN_UNIT, STRANGER):
        assert sender_allowed(access, sender, MAIN, CONTROLS, UNIT) == (sender in allowed), sender


def test_notify_access_without_a_main_process() -> None:
    assert not sender_allowed("main", MAIN, None, CONTROLS, UNIT)
    assert sender_allowed("exec", CONTROL, None, CONTROLS, UNIT)
    assert sender_allowed("all", OTHER_IN_UNIT, None, set(), UNIT)
    # "all" covers main and control processes even when the caller's unit set lacks them.
    assert sender_allowed("all", MAIN, MAIN, set(), set())


def test_unknown_sender_pid_is_never_allowed() -> None:
    assert not sender_allowed("all", 0, 0, {0}, {0})
