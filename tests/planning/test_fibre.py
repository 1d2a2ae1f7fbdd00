"""Fibre backhaul: Steiner trees against brute force, costs, ducts, the GPON budget."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString

from villenum.errors import ConfigError, PlanningError
from villenum.planning.fibre import (
    FibreCosts,
    improve_tree,
    load_costs,
    optical_budget,
    plan_backhaul,
)


def brute_steiner(graph: nx.Graph, terminals: set[int]) -> float:
    """Optimal Steiner cost: the best MST over every set of extra nodes."""
    others = [n for n in graph if n not in terminals]
    best = np.inf
    for k in range(len(others) + 1):
        for extra in itertools.combinations(others, k):
            sub = graph.subgraph([*terminals, *extra])
            if nx.is_connected(sub):
                best = min(best, nx.minimum_spanning_tree(sub, weight="cost").size(weight="cost"))
    return best


def random_grid(seed: int) -> tuple[nx.Graph, set[int]]:
    rng = np.random.default_rng(seed)
    graph = nx.convert_node_labels_to_integers(nx.grid_2d_graph(4, 4))
    for u, v in graph.edges:
        graph.edges[u, v]["cost"] = float(rng.integers(1, 10))
    return graph, set(rng.choice(16, 5, replace=False).tolist())


@pytest.mark.parametrize("seed", range(8))
def test_improved_tree_is_optimal_on_small_grids(seed: int) -> None:
    graph, terminals = random_grid(seed)
    base = nx.algorithms.approximation.steiner_tree(
        graph, terminals, weight="cost", method="mehlhorn"
    )
    tree = improve_tree(graph, base, terminals)
    assert nx.is_tree(tree) and terminals <= set(tree.nodes)
    assert tree.size(weight="cost") <= base.size(weight="cost")
    assert tree.size(weight="cost") == pytest.approx(brute_steiner(graph, terminals))


def test_improvement_beats_networkx_where_mehlhorn_is_suboptimal() -> None:
    graph, terminals = random_grid(1)  # networkx: 26, optimum: 23
    base = nx.algorithms.approximation.steiner_tree(
        graph, terminals, weight="cost", method="mehlhorn"
    )
    tree = improve_tree(graph, base, terminals)
    assert base.size(weight="cost") == 26
    assert tree.size(weight="cost") == 23


def street_grid(kind_of: dict[tuple[int, int], str] | None = None) -> nx.MultiDiGraph:
    """A 5 × 5 street grid, 100 m blocks, in Lambert-93 near Biarritz."""
    g = nx.MultiDiGraph(crs="EPSG:2154")
    x0, y0 = 330000.0, 6274000.0
    for i, j in itertools.product(range(5), range(5)):
        g.add_node(i * 5 + j, x=x0 + 100 * i, y=y0 + 100 * j)
    for i, j in itertools.product(range(5), range(5)):
        for di, dj in ((1, 0), (0, 1)):
            if i + di < 5 and j + dj < 5:
                u, v = i * 5 + j, (i + di) * 5 + (j + dj)
                kind = (kind_of or {}).get((u, v), "minor")
                line = LineString(
                    [(g.nodes[u]["x"], g.nodes[u]["y"]), (g.nodes[v]["x"], g.nodes[v]["y"])]
                )
                for a, b, geom in ((u, v, line), (v, u, line.reverse())):
                    g.add_edge(
                        a,
                        b,
                        length=100.0,
                        kind=kind,
                        highway=kind,
                        name=f"street {u}-{v}",
                        geometry=geom,
                    )
    return g


def test_backhaul_on_a_street_grid_hangs_aps_mid_street() -> None:
    g = street_grid()
    # Two APs at mid-block, 4 m off the street axis; the PoP at the origin corner.
    aps = np.array([[330050.0, 6274004.0], [330250.0, 6274204.0]])
    bh = plan_backhaul(g, aps, (330000.0, 6274000.0))
    assert bh.drops["length_m"].tolist() == pytest.approx([4.0, 4.0])
    # Optimal: the Manhattan distance to AP 2 (250 + 200 m), passing AP 1 on the way.
    assert bh.length_m == pytest.approx(450.0)
    rate = FibreCosts().trench_eur_per_m["minor"] + FibreCosts().cable_eur_per_m
    assert bh.cost_eur == pytest.approx(450.0 * rate)
    assert (
        bh.trenches["cost_eur"] - bh.trenches["length_m"] * bh.trenches["eur_per_m"]
    ).abs().max() < 0.05
    assert bh.cost_eur <= bh.baseline_cost_eur + 1e-6
    assert set(bh.trenches["method"]) == {"trench"}


def test_tree_prefers_cheap_streets_and_existing_ducts() -> None:
    g = street_grid()
    aps = np.array([[330400.0, 6274400.0]])
    plain = plan_backhaul(g, aps, (330000.0, 6274000.0))
    # A duct along the bottom row and the right column: same length, far cheaper.
    duct = gpd.GeoDataFrame(
        geometry=[LineString([(330000, 6274000), (330400, 6274000), (330400, 6274400)])],
        crs="EPSG:2154",
    )
    ducted = plan_backhaul(g, aps, (330000.0, 6274000.0), ducts=duct)
    assert ducted.length_m == pytest.approx(800.0)
    assert set(ducted.trenches["method"]) == {"duct"}
    assert ducted.cost_eur == pytest.approx(
        800.0 * (FibreCosts().duct_eur_per_m + FibreCosts().cable_eur_per_m)
    )
    assert ducted.cost_eur < plain.cost_eur / 5


def test_ducts_in_another_crs_are_refused() -> None:
    duct = gpd.GeoDataFrame(
        geometry=[LineString([(-1.55, 43.48), (-1.54, 43.48)])], crs="EPSG:4326"
    )
    with pytest.raises(PlanningError, match="ducts layer"):
        plan_backhaul(
            street_grid(), np.array([[330100.0, 6274100.0]]), (330000.0, 6274000.0), ducts=duct
        )


@pytest.mark.parametrize(
    ("length_m", "split", "optics", "loss", "ok"),
    [
        (5000.0, 32, "B+", 17.5 + 0.5 * 5 + 2.0, True),  # Biarritz scale: 22.0 dB of 28
        (20000.0, 32, "B+", 17.5 + 0.5 * 20 + 2.0, False),  # 29.5 dB > 28 - 3
        (5000.0, 64, "B+", 21.0 + 2.5 + 2.0, False),  # 25.5 + 3 dB margin > 28
        (5000.0, 64, "C+", 21.0 + 2.5 + 2.0, True),  # C+ optics (32 dB) fix it
        (25000.0, 32, "C+", 17.5 + 12.5 + 2.0, False),  # beyond the 20 km reach
    ],
)
def test_gpon_optical_budget(
    length_m: float, split: int, optics: str, loss: float, ok: bool
) -> None:
    check = optical_budget(length_m, 40, split_ratio=split, optics_class=optics)
    assert check.loss_db == pytest.approx(loss)
    assert check.ok is ok
    assert check.pon_ports == (2 if split == 32 else 1)
    assert check.reach_ok is (length_m <= 20000)


def test_optical_budget_rejects_unknown_split() -> None:
    with pytest.raises(PlanningError, match="split_ratio"):
        optical_budget(1000.0, 10, split_ratio=16)


def test_costs_from_toml(tmp_path) -> None:
    path = tmp_path / "costs.toml"
    path.write_text(
        "[costs]\nap_eur = 3000\n[costs.trench_eur_per_m]\nmajor = 150\n", encoding="utf-8"
    )
    costs = load_costs(path)
    assert costs.ap_eur == 3000 and costs.trench_eur_per_m["major"] == 150
    assert costs.trench_eur_per_m["minor"] == FibreCosts().trench_eur_per_m["minor"]
    path.write_text("[costs]\nap_euro = 3000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key 'ap_euro'"):
        load_costs(path)
    path.write_text("[costs]\nap_eur = -1\n", encoding="utf-8")
    with pytest.raises(PlanningError, match="ap_eur"):
        load_costs(path)


def test_biarritz_backhaul_from_the_mairie(biarritz) -> None:
    nodes = list(biarritz.streets.nodes)
    rng = np.random.default_rng(3)
    pick = rng.choice(len(nodes), 30, replace=False)
    aps = np.array(
        [
            (biarritz.streets.nodes[nodes[i]]["x"], biarritz.streets.nodes[nodes[i]]["y"])
            for i in pick
        ]
    )
    hall = biarritz.town_hall.geometry.iloc[0]
    bh = plan_backhaul(biarritz.streets, aps, (hall.x, hall.y))
    assert bh.cost_eur <= bh.baseline_cost_eur + 1e-6
    assert 0 < bh.length_m < 60_000
    assert bh.optical.ok and bh.optical.reach_ok and bh.optical.longest_path_m < 10_000
    # The trenches form one tree reaching every AP's street node.
    tree = nx.Graph()
    tree.add_edges_from(zip(bh.trenches["u"], bh.trenches["v"], strict=True))
    assert nx.is_tree(tree)
    assert set(bh.drops["node"]) <= set(tree.nodes)
