import itertools
import math

from hypothesis import given
from hypothesis import strategies as st

from guestinit.service.backoff import DOUBLING, StartLimit, restart_delay


def test_default_backoff_doubles_from_100ms_to_30s() -> None:
    delays = [restart_delay(n, 0.1, 30.0, DOUBLING) for n in range(12)]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
    assert delays[-2:] == [30.0, 30.0]


def test_restart_steps_grow_geometrically_to_the_cap() -> None:
    delays = [restart_delay(n, 1.0, 16.0, 4) for n in range(6)]
    assert [round(d, 6) for d in delays] == [1, 2, 4, 8, 16, 16]
    assert all(b >= a for a, b in itertools.pairwise(delays))


def test_no_steps_means_constant_delay() -> None:
    assert restart_delay(5, 2.0, 30.0, 0) == 2.0
    assert restart_delay(5, 2.0, math.inf, 4) == 2.0


def test_zero_base_stays_zero_as_in_systemd() -> None:
    assert [restart_delay(n, 0.0, 10.0, 5) for n in range(4)] == [0, 0, 0, 0]


@given(
    st.integers(0, 100),
    st.floats(0, 100, allow_nan=False),
    st.floats(0, 1000, allow_nan=False),
    st.integers(-1, 20),
)
def test_delay_is_between_base_and_cap(n: int, base: float, cap: float, steps: int) -> None:
    delay = restart_delay(n, base, cap, steps)
    assert min(base, cap) - 1e-9 <= delay <= max(base, cap) + 1e-9


def test_start_limit_counts_within_the_interval() -> None:
    limit = StartLimit(10.0, 3)
    hits = []
    for now in (0, 1, 2, 3, 12, 13):
        limit, hit = limit.record(now)
        hits.append(hit)
    assert hits == [False, False, False, True, False, False]
