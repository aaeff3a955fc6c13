"""Which units a start pulls in, and in what order they start and stop (pure).

Two relations, as in systemd, kept apart: *requirement* (Requires, Requisite,
Wants, BindsTo: what gets started along) and *ordering* (After, Before: who
waits for whom). Units with no ordering between them start in parallel.
A cycle in the ordering is broken by dropping one of its edges, preferring an
edge that no requirement backs (systemd likewise drops a job that is only
wanted), and reported with the units of the cycle.
"""

import dataclasses
from collections.abc import Iterable, Mapping


@dataclasses.dataclass(frozen=True, slots=True)
class Deps:
    """A unit's dependency lists, names as written (after alias resolution)."""

    requires: frozenset[str] = frozenset()
    requisite: frozenset[str] = frozenset()
    wants: frozenset[str] = frozenset()
    binds_to: frozenset[str] = frozenset()
    part_of: frozenset[str] = frozenset()
    after: frozenset[str] = frozenset()
    before: frozenset[str] = frozenset()
    conflicts: frozenset[str] = frozenset()

    @property
    def pulls(self) -> frozenset[str]:
        """Units started along with this one."""
        return self.requires | self.wants | self.binds_to

    @property
    def needs(self) -> frozenset[str]:
        """Units whose failure to start fails this one."""
        return self.requires | self.requisite | self.binds_to


def pull_in(roots: Iterable[str], graph: Mapping[str, Deps]) -> list[str]:
    """Every unit reachable from ``roots`` through requirements, roots first,
    in a stable breadth-first order. Unknown names are kept (the caller reports
    them as "unit not found")."""
    seen: dict[str, None] = {}
    queue = list(roots)
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen[name] = None
        deps = graph.get(name)
        if deps is not None:
            queue.extend(sorted(deps.pulls - seen.keys()))
    return list(seen)


def waits_for(units: Iterable[str], graph: Mapping[str, Deps]) -> dict[str, set[str]]:
    """For each unit, the units (among ``units``) that must finish starting
    before it starts: its After= plus every unit that says Before= it."""
    members = set(units)
    edges: dict[str, set[str]] = {name: set() for name in members}
    for name in members:
        deps = graph.get(name, Deps())
        edges[name] |= deps.after & members
        for later in deps.before & members:
            edges[later].add(name)
    for name in members:
        edges[name].discard(name)
    return edges


def break_cycles(
    edges: dict[str, set[str]], graph: Mapping[str, Deps]
) -> tuple[dict[str, set[str]], list[list[str]]]:
    """Remove ordering edges until no cycle is left; returns the new edges and
    each cycle found (as the list of its units, in order).

    Every cycle lies inside one strongly connected component, so only those
    with more than one unit are searched: one linear pass finds them, and an
    acyclic graph (the common case) costs nothing more. Searching the whole
    graph again after each broken edge made loading 2,000 units quadratic."""
    edges = {name: set(waits) for name, waits in edges.items()}
    cycles: list[list[str]] = []
    for component in strongly_connected(edges):
        while (cycle := _find_cycle(edges, component)) is not None:
            cycles.append(cycle)
            waiter, waited = _weakest_edge(cycle, graph)
            edges[waiter].discard(waited)
    return edges, cycles


def strongly_connected(edges: Mapping[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one unit (Tarjan's
    algorithm, iterative: a chain of 2,000 units would overflow recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in edges:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def start_batches(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Units grouped in waves: each wave may start in parallel once the previous
    ones are up. ``edges`` must be acyclic (see break_cycles)."""
    remaining = {name: set(waits) for name, waits in edges.items()}
    batches: list[list[str]] = []
    while remaining:
        ready = sorted(name for name, waits in remaining.items() if not waits)
        if not ready:
            raise ValueError("ordering cycle left in start_batches")
        batches.append(ready)
        for name in ready:
            del remaining[name]
        for waits in remaining.values():
            waits.difference_update(ready)
    return batches


def stop_waits_for(edges: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Stopping runs the start order backwards: a unit stops only after every
    unit that waited for it at start has stopped."""
    reverse: dict[str, set[str]] = {name: set() for name in edges}
    for name, waits in edges.items():
        for earlier in waits:
            reverse.setdefault(earlier, set()).add(name)
    return reverse


def _find_cycle(edges: Mapping[str, set[str]], among: set[str]) -> list[str] | None:
    """One cycle through units of ``among`` (a strongly connected component)."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(among, white)
    for start in sorted(among):
        if color[start] != white:
            continue
        path: list[str] = [start]
        stack: list[tuple[str, list[str]]] = [(start, sorted(edges[start] & among))]
        color[start] = grey
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                color[node] = black
                continue
            nxt = pending.pop()
            if color[nxt] == grey:
                return path[path.index(nxt) :]
            if color[nxt] == white:
                color[nxt] = grey
                path.append(nxt)
                stack.append((nxt, sorted(edges[nxt] & among)))
    return None


def _weakest_edge(cycle: list[str], graph: Mapping[str, Deps]) -> tuple[str, str]:
    """The edge of the cycle to drop: one not backed by a hard requirement."""
    pairs = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
    for waiter, waited in pairs:
        if waited not in graph.get(waiter, Deps()).needs:
            return waiter, waited
    return pairs[-1]
