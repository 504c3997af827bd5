"""Connected components by large-star/small-star: exact on long chains, stars, cycles and
pairs whose ids are shuffled, so a component's smallest id can sit anywhere in it."""

from __future__ import annotations

import random

import pytest

from stages.connected_components import connected_components, union_find


def _graph(rng: random.Random):
    """Edges of a known graph with shuffled node ids, and the expected component per node."""
    shapes = [("chain", 160), ("chain", 40), ("star", 30), ("cycle", 20), ("chain", 2), ("chain", 2)]
    n_nodes = sum(n for _, n in shapes)
    ids = list(range(10_000, 10_000 + n_nodes * 7, 7))
    rng.shuffle(ids)
    edges, expected, k = [], {}, 0
    for shape, n in shapes:
        nodes = ids[k:k + n]
        k += n
        if shape == "chain":
            pairs = list(zip(nodes, nodes[1:]))
        elif shape == "star":
            pairs = [(nodes[0], v) for v in nodes[1:]]
        else:
            pairs = list(zip(nodes, nodes[1:] + nodes[:1]))
        for u, v in pairs:
            edges.append((u, v) if rng.random() < 0.5 else (v, u))  # either direction
        root = min(nodes)
        expected.update({v: root for v in nodes})
    rng.shuffle(edges)
    return edges, expected


@pytest.mark.parametrize("as_string", [False, True], ids=["long", "string"])
def test_components_are_exact_on_long_chains_with_shuffled_ids(spark, as_string):
    edges, expected = _graph(random.Random(7))
    if as_string:  # strings order differently from numbers: the root is the smallest string
        groups: dict[int, list[int]] = {}
        for v, root in expected.items():
            groups.setdefault(root, []).append(v)
        expected = {f"d{v}": min(f"d{u}" for u in g) for g in groups.values() for v in g}
        edges = [(f"d{u}", f"d{v}") for u, v in edges]
    schema = "src string, dst string" if as_string else "src long, dst long"
    df = spark.createDataFrame(edges, schema).repartition(3)
    result = connected_components(df)
    got = {r["node"]: r["component"] for r in result.assignment.collect()}
    assert got == expected
    assert not result.local
    assert 1 <= result.iterations <= 20  # O(log^2 n), far below the 160-node chain's diameter
    small = connected_components(df, local_max_edges=10_000)  # the same on the driver
    assert small.local and {r["node"]: r["component"] for r in small.assignment.collect()} == expected


def test_union_find_matches_the_expected_components():
    edges, expected = _graph(random.Random(11))
    assert union_find(edges) == expected


def test_self_loops_and_duplicate_edges_change_nothing(spark):
    df = spark.createDataFrame([(5, 5), (5, 9), (9, 5), (9, 5), (2, 7)], "src long, dst long")
    got = {r["node"]: r["component"] for r in connected_components(df).assignment.collect()}
    assert got == {5: 5, 9: 5, 2: 2, 7: 2}
