"""The hand-written maximum-weight matching, checked against networkx and by hand."""

from __future__ import annotations

import random
from collections.abc import Sequence

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.blossom import Edge, max_weight_matching

FAST = settings(max_examples=100, deadline=None)


def total(mate: Sequence[int], edges: Sequence[Edge]) -> int:
    weights = {(i, j): w for i, j, w in edges}
    return sum(weights[v, m] for v, m in enumerate(mate) if v < m)


def best_total(edges: Sequence[Edge]) -> int:
    """networkx's maximum total weight, the reference."""
    graph = nx.Graph()
    graph.add_weighted_edges_from(edges)
    weights = {(i, j): w for i, j, w in edges}
    return sum(weights[min(a, b), max(a, b)] for a, b in nx.max_weight_matching(graph))


def assert_is_matching(mate: Sequence[int], edges: Sequence[Edge]) -> None:
    pairs = {(i, j) for i, j, _ in edges}
    for v, m in enumerate(mate):
        assert m == -1 or (mate[m] == v and (min(v, m), max(v, m)) in pairs)


def simple(raw: Sequence[Edge]) -> list[Edge]:
    """Drop loops and keep one edge per pair, with the smaller vertex first."""
    return list(
        {(min(i, j), max(i, j)): (min(i, j), max(i, j), w) for i, j, w in raw if i != j}.values()
    )


@st.composite
def dense_graphs(draw: st.DrawFn) -> tuple[int, list[Edge]]:
    """Most pairs joined, with weights drawn from a small range so that ties are common."""
    n = draw(st.integers(1, 12))
    top = draw(st.sampled_from((3, 100, 10**9)))
    edges = [
        (i, j, draw(st.integers(1, top)))
        for i in range(n)
        for j in range(i + 1, n)
        if draw(st.integers(0, 4))
    ]
    return n, edges


def test_no_edges_leaves_everyone_single() -> None:
    """Without edges nobody is matched, and an empty graph gives an empty mate list."""
    assert max_weight_matching(0, []) == []
    assert max_weight_matching(3, []) == [-1, -1, -1]


def test_a_single_edge_is_matched() -> None:
    """One edge: its two ends are each other's mate; other vertices stay single."""
    assert max_weight_matching(3, [(0, 2, 7)]) == [2, -1, 0]


def test_a_triangle_keeps_its_heaviest_edge() -> None:
    """In a triangle only one edge fits: the heaviest."""
    assert max_weight_matching(3, [(0, 1, 3), (1, 2, 4), (0, 2, 5)]) == [2, -1, 0]


def test_two_light_edges_beat_one_heavy_edge() -> None:
    """On a path 5-8-5 the two outer edges win, though the greedy start takes the middle."""
    assert max_weight_matching(4, [(0, 1, 5), (1, 2, 8), (2, 3, 5)]) == [1, 0, 3, 2]


def test_an_odd_cycle_is_shrunk_to_a_blossom_and_augmented_through() -> None:
    """A 5-cycle of weight 10 with a pendant edge of 8 at vertex 0: the best matching takes
    the pendant and the two cycle edges away from 0, which needs the cycle as a blossom."""
    cycle = [(0, 1, 10), (1, 2, 10), (2, 3, 10), (3, 4, 10), (0, 4, 10)]
    edges = [*cycle, (0, 5, 8)]
    mate = max_weight_matching(6, edges)
    assert mate == [5, 2, 1, 4, 3, 0]
    assert total(mate, edges) == best_total(edges) == 28


@FAST
@given(
    st.integers(1, 16).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(1, 6)),
                max_size=3 * n,
            ),
        )
    )
)
def test_blossom_equals_networkx_on_sparse_graphs(
    graph: tuple[int, list[tuple[int, int, int]]],
) -> None:
    """The hand-written Blossom finds networkx's maximum weight on sparse graphs with ties."""
    n, raw = graph
    edges = list(
        {(min(i, j), max(i, j)): (min(i, j), max(i, j), w) for i, j, w in raw if i != j}.values()
    )
    mate = max_weight_matching(n, edges)
    assert all(m == -1 or mate[m] == v for v, m in enumerate(mate))
    weights = {(i, j): w for i, j, w in edges}
    reference = nx.Graph()
    reference.add_weighted_edges_from(edges)
    best = sum(weights[min(a, b), max(a, b)] for a, b in nx.max_weight_matching(reference))
    assert sum(weights[v, m] for v, m in enumerate(mate) if v < m) == best


@FAST
@given(dense_graphs())
def test_equals_networkx_on_dense_graphs(graph: tuple[int, list[Edge]]) -> None:
    """On near-complete graphs, with small or huge weights, the total equals networkx's."""
    n, edges = graph
    mate = max_weight_matching(n, edges)
    assert len(mate) == n
    assert_is_matching(mate, edges)
    assert total(mate, edges) == best_total(edges)


@FAST
@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(1, 50)), max_size=30).map(
        simple
    ),
    st.randoms(use_true_random=False),
)
def test_edge_order_does_not_change_the_total(edges: list[Edge], rng: random.Random) -> None:
    """Listing the same edges in another order, or ends swapped, gives the same total."""
    shuffled = [(j, i, w) if rng.random() < 0.5 else (i, j, w) for i, j, w in edges]
    rng.shuffle(shuffled)
    first = max_weight_matching(10, edges)
    second = max_weight_matching(10, shuffled)
    assert_is_matching(first, edges)
    assert total(first, edges) == total(second, edges) == best_total(edges)
