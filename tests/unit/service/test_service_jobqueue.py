from collections.abc import Callable

from guestinit.service.jobqueue import JobQueue


def chain_waits(
    queue: JobQueue, busy: set[str], edges: dict[str, set[str]]
) -> Callable[[str], list[str]]:
    def waits_for(name: str) -> list[str]:
        return [o for o in edges.get(name, ()) if o in queue or o in busy]

    return waits_for


def drain(queue: JobQueue, busy: set[str], edges: dict[str, set[str]]) -> list[str]:
    started = []
    for name in queue.ready(chain_waits(queue, busy, edges)):
        queue.discard(name)
        started.append(name)
    return started


def test_a_chain_queued_backwards_starts_in_one_pass_in_order() -> None:
    edges = {f"u{i}": {f"u{i - 1}"} for i in range(1, 500)}
    queue = JobQueue()
    queue.update(f"u{i}" for i in reversed(range(500)))
    assert drain(queue, set(), edges) == [f"u{i}" for i in range(500)]
    assert len(queue) == 0


def test_a_unit_waits_until_what_it_waits_for_changes() -> None:
    edges = {"app": {"db"}}
    queue = JobQueue()
    queue.update(["app", "db"])
    busy: set[str] = set()
    assert drain(queue, busy, {"app": {"db"}}) == ["db", "app"]

    queue.update(["app"])
    busy.add("db")  # db is still activating: app is parked under it
    assert drain(queue, busy, edges) == []
    assert drain(queue, busy, edges) == [], "nothing changed: nothing looked at"
    busy.discard("db")
    queue.changed("db")
    assert drain(queue, busy, edges) == ["app"]


def test_look_again_after_the_ordering_changed() -> None:
    queue = JobQueue()
    queue.add("app")
    busy = {"db"}
    assert drain(queue, busy, {"app": {"db"}}) == []
    # db never changes, but the edge went away (daemon-reload).
    queue.look_again()
    assert drain(queue, busy, {}) == ["app"]


def test_discard_and_clear() -> None:
    queue = JobQueue()
    queue.update(["a", "b"])
    queue.discard("a")
    assert "a" not in queue and "b" in queue and list(queue) == ["b"]
    queue.clear()
    assert not queue and drain(queue, set(), {}) == []
