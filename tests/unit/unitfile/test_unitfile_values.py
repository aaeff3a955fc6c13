"""Scalar value parsers: booleans, modes, sizes, resource limits, exit statuses."""

import signal

import pytest

from guestinit.unitfile._values import (
    RLIM_INFINITY,
    RLimit,
    parse_bool,
    parse_exit_status_words,
    parse_mode,
    parse_rlimit,
    parse_size,
)


@pytest.mark.parametrize("word", ["maybe", "", "2", "yess"])
def test_bool_rejects(word: str) -> None:
    with pytest.raises(ValueError):
        parse_bool(word)


def test_modes() -> None:
    assert parse_mode("0755") == 0o755
    assert parse_mode("22") == 0o22
    for bad in ["", "0o755", "8", "-1", "17777"]:
        with pytest.raises(ValueError):
            parse_mode(bad)


@pytest.mark.parametrize(
    ("text", "size"),
    [("512", 512), ("512B", 512), ("1K", 1024), ("1.5K", 1536), ("16G", 16 << 30), ("2E", 2 << 60)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "K", "1.2.3K", "1X", "-1"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_rlimit_forms() -> None:
    assert parse_rlimit("LimitNOFILE", "infinity") == (
        "RLIMIT_NOFILE",
        RLimit(RLIM_INFINITY, RLIM_INFINITY),
    )
    assert parse_rlimit("LimitNICE", "+19") == ("RLIMIT_NICE", RLimit(1, 1))
    assert parse_rlimit("LimitNICE", "40") == ("RLIMIT_NICE", RLimit(40, 40))
    assert parse_rlimit("LimitCPU", "1.5") == ("RLIMIT_CPU", RLimit(2, 2))  # rounded up
    assert parse_rlimit("LimitRTTIME", "1s") == ("RLIMIT_RTTIME", RLimit(10**6, 10**6))
    for key, bad in [("LimitNOFILE", "1K"), ("LimitNICE", "-21"), ("LimitCORE", "infinity:0")]:
        with pytest.raises(ValueError):
            parse_rlimit(key, bad)


def test_exit_status_words() -> None:
    codes, signals = parse_exit_status_words(["0", "TEMPFAIL", "exec", "SIGKILL", "TERM"])
    assert codes == {0, 75, 203}
    assert signals == {signal.SIGKILL, signal.SIGTERM}
    with pytest.raises(ValueError):
        parse_exit_status_words(["256"])


def test_huge_byte_limit_means_infinity() -> None:
    assert parse_rlimit("LimitAS", "16E") == ("RLIMIT_AS", RLimit(RLIM_INFINITY, RLIM_INFINITY))
