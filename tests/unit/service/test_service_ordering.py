from hypothesis import given
from hypothesis import strategies as st

from guestinit.service.ordering import (
    Deps,
    break_cycles,
    pull_in,
    start_batches,
    stop_waits_for,
    strongly_connected,
    waits_for,
)


def deps(**lists: list[str]) -> Deps:
    return Deps(**{key: frozenset(value) for key, value in lists.items()})


GRAPH = {
    "app.service": deps(requires=["db.service"], wants=["cache.service"], after=["db.service"]),
    "db.service": deps(after=["network.target"], wants=["network.target"]),
    "cache.service": deps(),
    "log.service": deps(before=["app.service", "db.service"]),
    "network.target": deps(),
}


def test_pull_in_follows_requirements_not_ordering() -> None:
    assert pull_in(["app.service"], GRAPH) == [
        "app.service",
        "cache.service",
        "db.service",
        "network.target",
    ]
    assert "log.service" not in pull_in(["app.service"], GRAPH)


def test_pull_in_keeps_unknown_names_for_the_caller_to_report() -> None:
    assert pull_in(["ghost.service"], GRAPH) == ["ghost.service"]


def test_waits_for_merges_after_and_before() -> None:
    units = ["app.service", "db.service", "log.service", "cache.service", "network.target"]
    edges = waits_for(units, GRAPH)
    assert edges["app.service"] == {"db.service", "log.service"}
    assert edges["db.service"] == {"network.target", "log.service"}
    assert edges["cache.service"] == set()


def test_batches_start_in_parallel_where_ordering_allows() -> None:
    units = ["app.service", "db.service", "log.service", "cache.service", "network.target"]
    assert start_batches(waits_for(units, GRAPH)) == [
        ["cache.service", "log.service", "network.target"],
        ["db.service"],
        ["app.service"],
    ]


def test_stop_order_is_reversed() -> None:
    units = ["app.service", "db.service"]
    reverse = stop_waits_for(waits_for(units, GRAPH))
    assert reverse == {"db.service": {"app.service"}, "app.service": set()}


def test_cycle_is_broken_at_an_edge_no_requirement_backs() -> None:
    graph = {
        "a.service": deps(after=["b.service"], requires=["b.service"]),
        "b.service": deps(after=["c.service"], requires=["c.service"]),
        "c.service": deps(after=["a.service"]),
    }
    edges, cycles = break_cycles(waits_for(graph, graph), graph)
    assert len(cycles) == 1 and sorted(cycles[0]) == ["a.service", "b.service", "c.service"]
    assert edges["c.service"] == set(), "the unbacked c -> a edge goes"
    assert start_batches(edges) == [["c.service"], ["b.service"], ["a.service"]]


_names = st.sampled_from([f"u{i}.service" for i in range(6)])


@given(st.dictionaries(_names, st.builds(deps, after=st.lists(_names), before=st.lists(_names))))
def test_any_graph_orders_after_breaking_cycles(graph: dict[str, Deps]) -> None:
    edges, _ = break_cycles(waits_for(graph, graph), graph)
    batches = start_batches(edges)
    position = {name: i for i, batch in enumerate(batches) for name in batch}
    assert sorted(position) == sorted(graph)
    for name, waits in edges.items():
        assert all(position[w] < position[name] for w in waits)


def test_a_chain_of_2000_has_no_component_and_no_cycle() -> None:
    graph = {f"u{i}.target": deps(after=[f"u{i - 1}.target"] if i else []) for i in range(2000)}
    edges, cycles = break_cycles(waits_for(graph, graph), graph)
    assert cycles == [] and strongly_connected(edges) == []
    assert edges["u1999.target"] == {"u1998.target"}


def test_a_ring_of_200_is_one_cycle_broken_once() -> None:
    ring = {f"r{i}.service": deps(after=[f"r{(i + 1) % 200}.service"]) for i in range(200)}
    edges, cycles = break_cycles(waits_for(ring, ring), ring)
    assert len(cycles) == 1 and len(cycles[0]) == 200
    assert sum(len(w) for w in edges.values()) == 199
    assert len(start_batches(edges)) == 200


def test_components_are_found_apart() -> None:
    graph = {
        "a.service": deps(after=["b.service"]),
        "b.service": deps(after=["a.service"]),
        "c.service": deps(after=["a.service", "d.service"]),
        "d.service": deps(after=["c.service"]),
        "e.service": deps(after=["c.service"]),
    }
    found = strongly_connected(waits_for(graph, graph))
    assert sorted(sorted(c) for c in found) == [
        ["a.service", "b.service"],
        ["c.service", "d.service"],
    ]


@given(st.dictionaries(_names, st.builds(deps, after=st.lists(_names), before=st.lists(_names))))
def test_components_hold_every_cycle(graph: dict[str, Deps]) -> None:
    edges = waits_for(graph, graph)
    in_component = {name for component in strongly_connected(edges) for name in component}
    _, cycles = break_cycles(edges, graph)
    assert all(set(cycle) <= in_component for cycle in cycles)
    if not in_component:
        assert cycles == []
