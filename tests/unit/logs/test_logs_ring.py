"""The in-memory log ring: bounds per unit and in total, cursors, queries."""

from guestinit.logs.ring import LogRing


def test_per_unit_bound_keeps_the_newest() -> None:
    ring = LogRing(per_unit=3)
    for n in range(5):
        ring.add(float(n), "a.service", "a", 1, f"line {n}")
    assert [r.message for r in ring.query({"a.service"})] == ["line 2", "line 3", "line 4"]


def test_total_bound_takes_from_the_biggest_unit() -> None:
    ring = LogRing(per_unit=1000, total_bytes=10 * (64 + 10))
    ring.add(0.0, "quiet.service", "quiet", 1, "q" * 10)
    for n in range(20):
        ring.add(1.0, "chatty.service", "chatty", 2, f"{n:010d}")
    assert [r.message for r in ring.query({"quiet.service"})] == ["q" * 10]
    assert len(ring.query({"chatty.service"})) == 9


def test_cursor_lines_and_since() -> None:
    ring = LogRing()
    first = ring.add(10.0, "a.service", "a", 1, "one")
    ring.add(20.0, "b.service", "b", 2, "two", stream="syslog", priority=3)
    ring.add(30.0, "a.service", "a", 1, "three")
    assert [r.message for r in ring.query(after=first.seq)] == ["two", "three"]
    assert [r.message for r in ring.query(lines=1)] == ["three"]
    assert ring.query(lines=0) == []
    assert [r.message for r in ring.query(since=20.0)] == ["two", "three"]
    record = ring.query({"b.service"})[0].as_dict()
    assert (record["stream"], record["priority"], record["seq"]) == ("syslog", 3, 2)
    assert ring.units() == {"a.service", "b.service"}


def test_lines_of_no_unit_are_kept_apart() -> None:
    ring = LogRing()
    ring.add(1.0, None, "logger", 9, "from syslog")
    assert ring.query({"a.service"}) == [] and len(ring.query()) == 1
