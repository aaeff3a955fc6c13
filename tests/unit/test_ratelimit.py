from guestinit import _log
from guestinit._ratelimit import OVERFLOW_KEY, LimitedLog, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Lines(_log.Log):
    def __init__(self) -> None:
        super().__init__(_log.INFO)
        self.lines: list[str] = []

    def emit(self, level: int, text: str) -> None:
        if level <= self.level:
            self.lines.append(text)


def test_burst_then_suppressed_then_counted_when_the_window_ends() -> None:
    clock = Clock()
    limiter = RateLimiter(burst=3, interval=10.0, clock=clock)
    assert [limiter.allow("k") for _ in range(5)] == [True, True, True, False, False]
    assert limiter.next_expiry() == 110.0
    clock.now = 109.9
    assert limiter.expired() == []
    clock.now = 110.0
    assert limiter.expired() == [("k", 2)]
    assert limiter.expired() == []  # reported once
    assert limiter.next_expiry() is None
    assert limiter.allow("k")  # a new window


def test_a_message_after_the_window_opens_a_new_one_and_reports_the_old() -> None:
    clock = Clock()
    limiter = RateLimiter(burst=1, interval=5.0, clock=clock)
    assert limiter.allow("k") and not limiter.allow("k")
    clock.now += 6
    assert limiter.allow("k")
    assert limiter.next_expiry() == clock.now  # the old count is due now
    assert limiter.expired() == [("k", 1)]


def test_keys_are_limited_separately() -> None:
    limiter = RateLimiter(burst=1, clock=Clock())
    assert limiter.allow("a") and limiter.allow("b")
    assert not limiter.allow("a") and not limiter.allow("b")


def test_nothing_suppressed_reports_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(burst=2, interval=1.0, clock=clock)
    assert limiter.allow("k")
    assert limiter.next_expiry() is None
    clock.now += 2
    assert limiter.expired() == []


def test_keys_beyond_the_limit_share_one_window() -> None:
    limiter = RateLimiter(burst=1, clock=Clock(), max_keys=2)
    assert limiter.allow("a") and limiter.allow("b")
    assert limiter.allow("c")  # the overflow key's first message
    assert not limiter.allow("d")
    assert limiter.expired(everything=True) == [(OVERFLOW_KEY, 1)]


def test_limited_log_says_how_many_were_suppressed() -> None:
    clock = Clock()
    lines = Lines()
    log = LimitedLog(lines, RateLimiter(burst=2, interval=10.0, clock=clock))
    for number in range(20_000):
        log.warning_of("notify: datagrams dropped", f"dropped datagram {number}")
    assert lines.lines == ["dropped datagram 0", "dropped datagram 1"]
    assert log.next_deadline() == 110.0
    log.flush()
    assert len(lines.lines) == 2
    clock.now = 111
    log.flush()
    assert lines.lines[2:] == ["notify: datagrams dropped: 19998 similar messages suppressed"]


def test_limited_log_flushes_everything_at_exit_and_skips_disabled_levels() -> None:
    lines = Lines()
    log = LimitedLog(lines, RateLimiter(burst=1, clock=Clock()))
    for _ in range(3):
        log.emit(_log.DEBUG, "quiet", "not shown at INFO")
        log.warning_of("loud", "shown")
    log.flush(everything=True)
    assert lines.lines == ["shown", "loud: 2 similar messages suppressed"]
