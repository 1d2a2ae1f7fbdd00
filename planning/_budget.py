"""Budgeted placement with the fibre priced exactly as the tree grows.

The cost of an access point depends on the others: a site next to the fibre tree is cheap,
an isolated one pays a long trench. The greedy here grows the plan and its tree together
(the shortest-path Steiner heuristic of Takahashi & Matsuyama): each step adds the site with
the most newly served people per euro, where the euro count is its AP, its drop and the
cheapest street path from the current tree — the exact cost of adding it to that tree. The
result is the better of this cost-benefit greedy and the best single site, the rule of
Khuller, Moss & Naor (≥ ½(1 − 1/e) of the optimum for fixed site costs). The final tree is
recomputed and improved (:func:`villenum.planning.fibre.plan_backhaul`); sites are dropped
from the end until the real bill fits the budget, so the plan never overshoots.

The bound reported is the LP relaxation of the budgeted covering model with every site
priced at its AP and drop only — a relaxation of the true problem (the backhaul costs ≥ 0),
so a valid, if loose, upper bound.

References
----------
.. [1] Takahashi & Matsuyama, "An approximate solution for the Steiner problem in graphs",
   Math. Japonica 24 (1980).
.. [2] Khuller, Moss & Naor, "The budgeted maximum coverage problem", Inf. Process. Lett. 70
   (1999).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

from villenum.planning.fibre import Backhaul, FibreCosts, _nearest_nodes
from villenum.planning.placement import PlacementResult, maximal_coverage


def budget_greedy(
    graph: nx.Graph,
    matrix: Any,
    weights: npt.NDArray[np.float64],
    xy: npt.NDArray[np.float64],
    pop_xy: tuple[float, float],
    n_max: int,
    budget: float,
    costs: FibreCosts,
    split_ratio: int,
    build: Callable[[npt.NDArray[np.intp]], tuple[Backhaul, float]],
) -> tuple[PlacementResult, Backhaul] | None:
    """Grow a plan within ``budget``; ``build(sites)`` returns its backhaul and real total.

    Returns ``None`` when not even one access point fits.
    """
    t0 = time.perf_counter()
    csr = matrix.tocsr().astype(np.float64)
    csc = csr.tocsc()
    nodes = _nearest_nodes(graph, np.vstack([xy, [pop_xy]]), None)
    pop_node, site_nodes = nodes[-1], nodes[:-1]
    ends = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in site_nodes])
    drops = np.hypot(*(xy - ends).T) * (costs.drop_eur_per_m + costs.cable_eur_per_m)
    port_eur = costs.splitter_eur + costs.olt_port_eur
    order = _grow(csc, weights, graph, pop_node, site_nodes, drops, n_max, budget, costs,
                  port_eur, split_ratio)  # fmt: skip
    single = _best_single(csc, weights, graph, pop_node, site_nodes, drops, budget, costs, port_eur)
    if single is not None and (
        not order or _value(csr, weights, [single]) > _value(csr, weights, order)
    ):
        order = [single]
    while order:
        sites = np.sort(np.asarray(order, dtype=np.intp))
        backhaul, total = build(sites)
        if total <= budget:
            break
        order = order[:-1]  # the improved tree still overshoots: give up the last site
    else:
        return None
    relaxed = maximal_coverage(
        csr,
        weights,
        n_max,
        method="greedy",
        costs=costs.ap_eur + drops,
        budget=max(budget - port_eur, 0.0),
    )
    value = _value(csr, weights, list(sites))
    bound = max(relaxed.upper_bound, value)
    total_w = float(weights.sum())
    gap = 0.0 if bound <= 0 else (bound - value) / bound
    result = PlacementResult(
        sites=sites, covered_weight=value, covered_fraction=value / total_w if total_w else 0.0,
        upper_bound=bound, optimal=gap <= 1e-9, gap=gap, method="budget-greedy",
        seconds=time.perf_counter() - t0, cost=total,
    )  # fmt: skip
    return result, backhaul


def _value(csr: Any, weights: npt.NDArray[np.float64], sites: list[int]) -> float:
    if not sites:
        return 0.0
    return float(weights[np.asarray(csr[:, sites].sum(axis=1)).ravel() > 0].sum())


def _grow(
    csc: Any,
    weights: npt.NDArray[np.float64],
    graph: nx.Graph,
    pop_node: Any,
    site_nodes: list[Any],
    drops: npt.NDArray[np.float64],
    n_max: int,
    budget: float,
    costs: FibreCosts,
    port_eur: float,
    split_ratio: int,
) -> list[int]:
    tree = {pop_node}
    uncovered = np.ones(csc.shape[0], dtype=bool)
    chosen = np.zeros(csc.shape[1], dtype=bool)
    order: list[int] = []
    spent = 0.0
    while len(order) < n_max:
        dist, paths = nx.multi_source_dijkstra(graph, tree, weight="cost")
        conn = np.array([dist.get(n, np.inf) for n in site_nodes])
        price = costs.ap_eur + drops + conn
        ports = port_eur if len(order) % split_ratio == 0 else 0.0
        gains = csc.T @ (weights * uncovered)
        ok = (~chosen) & (gains > 0) & (spent + price + ports <= budget)
        if not ok.any():
            break
        ratio = np.where(ok, gains / np.maximum(price, 1e-9), -1.0)
        j = int(np.argmax(ratio))
        chosen[j] = True
        order.append(j)
        spent += price[j] + ports
        tree.update(paths[site_nodes[j]])
        uncovered[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] = False
    return order


def _best_single(
    csc: Any,
    weights: npt.NDArray[np.float64],
    graph: nx.Graph,
    pop_node: Any,
    site_nodes: list[Any],
    drops: npt.NDArray[np.float64],
    budget: float,
    costs: FibreCosts,
    port_eur: float,
) -> int | None:
    dist = nx.single_source_dijkstra_path_length(graph, pop_node, weight="cost")
    price = costs.ap_eur + drops + np.array([dist.get(n, math.inf) for n in site_nodes]) + port_eur
    gains = csc.T @ weights
    ok = price <= budget
    if not ok.any():
        return None
    return int(np.argmax(np.where(ok, gains, -1.0)))
